/* fargen_extern: what the rpcgen side (extern_rg.c, built on rpcgen's
 * key_prot.h and libtirpc) offers the fargen side (extern_test.c), in terms
 * neither side's types. */
#ifndef EXTERN_TEST_H
#define EXTERN_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* cryptkeyarg {remotename = name, deskey.c = key} */
bool rg_encode_cryptkeyarg(const char *name, const uint8_t key[8], uint8_t *buf, size_t cap,
                           size_t *len);
bool rg_decode_cryptkeyarg(const uint8_t *buf, size_t len, char *name, size_t name_cap,
                           uint8_t key[8]);
/* cryptkeyres {status = KEY_SUCCESS, deskey.c = key} */
bool rg_encode_cryptkeyres(const uint8_t key[8], uint8_t *buf, size_t cap, size_t *len);

#endif
