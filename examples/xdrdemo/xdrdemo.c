/* xdrdemo: encodes the RFC 4506 §7 "file" example with farcall's XDR codec,
 * prints the bytes with what each one means, decodes them back, and shows
 * how a hostile message is refused.  Run by `make demo`. */
#include <stdio.h>
#include <string.h>

#include "file_xdr.h"

/* Prints bytes [from, to) of buf as rows of one XDR word, labelled. */
static void dump(const uint8_t *buf, size_t from, size_t to, const char *label)
{
    for (size_t off = from; off < to; off += 4) {
        printf("  %3zu  ", off);
        for (size_t i = off; i < off + 4; i++)
            printf(i < to ? "%02x " : "   ", buf[i]);
        printf("  ");
        for (size_t i = off; i < off + 4 && i < to; i++)
            putchar(buf[i] >= 0x20 && buf[i] < 0x7f ? buf[i] : '.');
        printf("%*s  %s\n", (int)(4 - (to - off < 4 ? to - off : 4)), "", off == from ? label : "");
    }
}

/* Walks an encoded item of the form length + bytes + padding. */
static size_t dump_counted(const uint8_t *buf, size_t off, const char *what)
{
    uint32_t n = far_xdr_load_u32(buf + off);
    char label[96];
    snprintf(label, sizeof label, "length of %s = %u", what, n);
    dump(buf, off, off + 4, label);
    size_t end = off + 4 + n + far_xdr_pad(n);
    snprintf(label, sizeof label, "%s, then %zu zero bytes of padding", what, far_xdr_pad(n));
    dump(buf, off + 4, end, label);
    return end;
}

int main(void)
{
    file f = {.filename = "sillyprog",
              .type = {.kind = EXEC, .u.interpretor = "lisp"},
              .owner = "john",
              .data = {6, (uint8_t *)"(quit)"}};

    uint8_t buf[256];
    size_t len;
    char why[256];
    far_err err = far_xdr_encode(file_encode_any, &f, buf, sizeof buf, &len, why, sizeof why);
    if (err != FAR_OK) {
        fprintf(stderr, "xdrdemo: encode failed: %s\n", why);
        return 1;
    }

    printf("farcall XDR demo: the RFC 4506 section 7 example\n\n");
    printf("  file { filename = \"sillyprog\"; type = EXEC, interpretor \"lisp\";\n"
           "         owner = \"john\"; data = \"(quit)\" }\n\n");
    printf("encodes to %zu bytes (every item is a multiple of 4 bytes, big-endian):\n\n", len);
    printf("  off  bytes         text  meaning\n");
    size_t off = dump_counted(buf, 0, "filename");
    dump(buf, off, off + 4, "filekind EXEC = 2 (union discriminant)");
    off = dump_counted(buf, off + 4, "interpretor (the EXEC arm)");
    off = dump_counted(buf, off, "owner");
    off = dump_counted(buf, off, "data");

    far_arena arena;
    far_arena_init(&arena, NULL, 0, 0);
    file back;
    err = far_xdr_decode(file_decode_any, &back, buf, len, &arena, 0, why, sizeof why);
    if (err != FAR_OK) {
        fprintf(stderr, "xdrdemo: decode failed: %s\n", why);
        return 1;
    }
    printf("\ndecoded back: filename=\"%s\" kind=%d interpretor=\"%s\" owner=\"%s\" "
           "data=\"%.*s\" (%zu bytes from the arena)\n",
           back.filename, (int)back.type.kind, back.type.u.interpretor, back.owner,
           (int)back.data.len, (const char *)back.data.val, far_arena_used(&arena));

    /* A hostile message: a filename claiming 0xFFFFFFF0 bytes in 8 bytes. */
    const uint8_t evil[8] = {0xff, 0xff, 0xff, 0xf0, 's', 'i', 'l', 'l'};
    far_arena_reset(&arena);
    err = far_xdr_decode(file_decode_any, &back, evil, sizeof evil, &arena, 0, why, sizeof why);
    printf("\na hostile 8-byte message is refused before any allocation (%zu bytes used):\n"
           "  %s\n",
           far_arena_used(&arena), err == FAR_OK ? "(accepted?!)" : why);
    far_arena_fini(&arena);
    return err == FAR_OK ? 1 : 0;
}
