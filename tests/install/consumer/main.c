/* A program outside the farcall tree, built against an installed farcall. */
#include <farcall/farcall.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    uint8_t buf[64];
    far_xdr_enc e;
    far_xdr_enc_init(&e, buf, sizeof buf);
    if (!far_xdr_put_i32(&e, -42) || !far_xdr_put_string(&e, "installed", 32)) {
        fprintf(stderr, "consumer: encode failed\n");
        return 1;
    }
    far_arena a;
    far_arena_init(&a, NULL, 0, 0);
    far_xdr_dec d;
    far_xdr_dec_init(&d, buf, far_xdr_enc_len(&e), &a, 0);
    int32_t v = 0;
    char *s = NULL;
    int ok = far_xdr_get_i32(&d, &v) && far_xdr_get_string(&d, &s, 32) && far_xdr_dec_done(&d) &&
             v == -42 && strcmp(s, "installed") == 0;
    far_arena_fini(&a);
    printf("consumer: %s (%s)\n", ok ? "ok" : "FAILED", far_strerror(FAR_OK));
    return ok ? 0 : 1;
}
