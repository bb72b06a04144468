/* The one internal header every private file of libfarcall includes. */
#ifndef FARCALL_INTERNAL_H
#define FARCALL_INTERNAL_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "farcall/arena.h"
#include "farcall/err.h"
#include "farcall/xdr.h"

#include "common/common.h"

#define FAR__UNUSED(x)    ((void)(x))
#define FAR__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* The object of type T whose member m is at p. */
#define FAR__CONTAINER_OF(p, T, m) ((T *)(void *)((char *)(p)-offsetof(T, m)))

/* Visibility: only symbols marked FAR__API are exported from the shared library. */
#define FAR__API __attribute__((visibility("default")))

/* Hands a malloc'ed block to the arena, which frees it at the next reset or
 * fini (zero-copy decoding from a buffer that must live as long as the
 * decoded value).  False (and the block not taken) when out of memory. */
bool far__arena_adopt(far_arena *a, void *block);

#endif
