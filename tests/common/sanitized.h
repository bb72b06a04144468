/* FAR_TEST_SANITIZED: 1 in a build under AddressSanitizer or ThreadSanitizer
 * (gcc defines __SANITIZE_*__, clang answers __has_feature), else 0.  Tests
 * use it to run their heaviest loads smaller where every access is checked:
 * the full figures are shown by the uninstrumented build, the sanitizers
 * still see every path. */
#ifndef FAR_TEST_SANITIZED_H
#define FAR_TEST_SANITIZED_H

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FAR_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FAR_TEST_SANITIZED 1
#endif
#endif
#ifndef FAR_TEST_SANITIZED
#define FAR_TEST_SANITIZED 0
#endif

#endif
