/* Security levels, the public odds and ends (farcall/rpc.h): level names,
 * and pre-shared keys read from files (docs/security.md "Key files"). */
#include "internal.h"
#include "farcall/rpc.h"
#include "msg/msg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const names[] = {"none", "auth", "integ", "priv"};

FAR__API const char *far_security_name(far_security level)
{
    return (unsigned)level < FAR__ARRAY_LEN(names) ? names[level] : "?";
}

FAR__API far_err far_security_parse(const char *name, far_security *level)
{
    if (!name || !level)
        return FAR_EMISUSE;
    for (unsigned i = 0; i < FAR__ARRAY_LEN(names); i++)
        if (strcmp(name, names[i]) == 0) {
            *level = (far_security)i;
            return FAR_OK;
        }
    return FAR_EMISUSE;
}

FAR__API void far_key_wipe(void *p, size_t n)
{
    far__wipe(p, n);
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static bool is_space(uint8_t ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

FAR__API far_err far_key_load(const char *path, uint8_t key[FAR_KEY_BYTES])
{
    if (!path || !key)
        return FAR_EMISUSE;
    uint8_t buf[160]; /* a key file is 32 raw bytes or 64 hex digits and a newline */
    far_err rc = FAR_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        far__set_last_error("%s: cannot open the key file: %s", path, strerror(errno));
        return FAR_EIO;
    }
    struct stat st;
    ssize_t n = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        far__set_last_error("%s: not a regular file", path);
        rc = FAR_EIO;
        goto out;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        far__set_last_error("%s: the key file may be read or written by others (mode %04o): "
                            "refused (chmod 600 it)",
                            path, (unsigned)(st.st_mode & 07777));
        rc = FAR_EAUTH;
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - (size_t)n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            far__set_last_error("%s: cannot read the key file: %s", path, strerror(errno));
            rc = FAR_EIO;
            goto out;
        }
        if (r == 0)
            break;
        n += r;
        if ((size_t)n == sizeof buf)
            break;
    }
    if (n == FAR_KEY_BYTES) {
        memcpy(key, buf, FAR_KEY_BYTES);
        goto out;
    }
    /* hex: 64 digits, white space around them */
    size_t i = 0, got = 0;
    while (i < (size_t)n && is_space(buf[i]))
        i++;
    for (; i + 1 < (size_t)n && got < FAR_KEY_BYTES; i += 2) {
        int hi = hexval(buf[i]), lo = hexval(buf[i + 1]);
        if (hi < 0 || lo < 0)
            break;
        key[got++] = (uint8_t)(hi << 4 | lo);
    }
    while (i < (size_t)n && is_space(buf[i]))
        i++;
    if (got != FAR_KEY_BYTES || i != (size_t)n) {
        far__wipe(key, FAR_KEY_BYTES);
        far__set_last_error("%s: not a key: a key file holds 32 bytes, raw or as 64 hex digits "
                            "(%zd bytes read)",
                            path, n);
        rc = FAR_EAUTH;
    }
out:
    far__wipe(buf, sizeof buf);
    close(fd);
    return rc;
}
