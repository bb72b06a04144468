/* Writes the seed corpus of fuzz_xdr_nested: a few valid `forest` encodings,
 * each behind the harness's mode byte.  The seeds are committed in
 * fuzz/corpus/xdr_nested/; rerun this only when nested.x changes:
 *
 *   cmake --build build --target seeds_xdr_nested
 *   build/fuzz/seeds_xdr_nested fuzz/corpus/xdr_nested
 */
#include <inttypes.h> /* nested_xdr.h uses PRIu32 */
#include <stdio.h>
#include <stdlib.h>

#include "nested_xdr.h"

static int write_seed(const char *dir, const char *name, unsigned mode, const forest *f)
{
    uint8_t buf[4096];
    far_xdr_enc e;
    far_xdr_enc_init(&e, buf + 1, sizeof buf - 1);
    if (!forest_encode(&e, f)) {
        char why[200];
        fprintf(stderr, "%s: %s\n", name, far_xdr_enc_strerror(&e, why, sizeof why));
        return 1;
    }
    buf[0] = (uint8_t)mode;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    size_t n = 1 + far_xdr_enc_len(&e);
    if (!fp || fwrite(buf, 1, n, fp) != n || fclose(fp) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    int64_t nums[3] = {-1, 0, INT64_MAX};
    uint8_t blob[7] = {1, 2, 3, 4, 5, 6, 7};

    /* leaves of every union arm */
    tree leaf_empty = {.id = 1, .label = "", .tag = {1, 2, 3, 4, 5}, .body = {.kind = SK_EMPTY}};
    tree leaf_name = {.id = -7,
                      .label = "abc",
                      .blob = {7, blob},
                      .counts = {1, 2, 3},
                      .body = {.kind = SK_NAME, .u.name = "a name"},
                      .flag = true,
                      .weight = 0.5};
    tree leaf_nums = {.id = 3,
                      .label = "four",
                      .blob = {4, blob},
                      .body = {.kind = SK_NUMBERS, .u.numbers = {3, nums}},
                      .weight = -1e300};
    tree leaf_nochild = {.id = 4, .label = "x", .body = {.kind = SK_CHILD, .u.child = NULL}};
    /* a chain of children three deep */
    tree deep2 = {.id = 12, .label = "d2", .body = {.kind = SK_CHILD, .u.child = &leaf_name}};
    tree deep1 = {.id = 11, .label = "d1", .body = {.kind = SK_CHILD, .u.child = &deep2}};
    tree deep0 = {.id = 10, .label = "d0", .body = {.kind = SK_CHILD, .u.child = &deep1}};

    item i3 = {.value = leaf_nochild, .next = NULL};
    item i2 = {.value = leaf_nums, .next = &i3};
    item i1 = {.value = leaf_name, .next = &i2};
    item i0 = {.value = leaf_empty, .next = &i1};

    forest empty = {NULL, NULL};
    forest one = {&i3, NULL};
    forest rooted = {NULL, &deep0};
    forest full = {&i0, &leaf_nums};

    int bad = 0;
    bad |= write_seed(dir, "empty", 0x00, &empty);
    bad |= write_seed(dir, "one_item", 0x00, &one);
    bad |= write_seed(dir, "deep_root_zerocopy", 0x01, &rooted);
    bad |= write_seed(dir, "deep_root_tight", 0x04, &rooted);
    bad |= write_seed(dir, "list_and_root", 0x00, &full);
    bad |= write_seed(dir, "list_heapless_grow", 0x12, &full);
    bad |= write_seed(dir, "list_whole_byref", 0x29, &full);
    return bad;
}
