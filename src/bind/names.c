/* Program names: a program's name in /etc/rpc, a name or number to a
 * program number, and farbind's names program (set, unset, look up). */
#include "bind/bind.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>

bool far__bind_enc_name_args(far_xdr_enc *e, const void *v)
{
    const far__bind_name_args *n = v;
    return far_xdr_put_string(e, n->name, FAR_BIND_MAX_NAME) && far_xdr_put_u32(e, n->prog) &&
           far_xdr_put_string(e, n->owner, MAX_STR);
}

bool far__bind_enc_name(far_xdr_enc *e, const void *v)
{
    return far_xdr_put_string(e, *(const char *const *)v, FAR_BIND_MAX_NAME);
}

bool far__bind_name_ok(const char *s)
{
    size_t n = strnlen(s, FAR_BIND_MAX_NAME + 1);
    if (n == 0 || n > FAR_BIND_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

FAR__API far_err far_bind_program_name(uint32_t prog, char *name, size_t n)
{
    if (!name || !n)
        return FAR_EMISUSE;
    name[0] = 0;
    FILE *f = fopen("/etc/rpc", "re");
    if (!f)
        return FAR_EPROG_UNAVAIL;
    char line[512];
    far_err rc = FAR_EPROG_UNAVAIL;
    while (fgets(line, sizeof line, f)) {
        char nm[128];
        unsigned long num;
        if (line[0] == '#' || sscanf(line, "%127s %lu", nm, &num) != 2)
            continue;
        if (num == prog) {
            snprintf(name, n, "%s", nm);
            rc = FAR_OK;
            break;
        }
    }
    fclose(f);
    return rc;
}

static far_err etc_rpc_number(const char *want, uint32_t *prog)
{
    FILE *f = fopen("/etc/rpc", "re");
    if (!f)
        return FAR_EPROG_UNAVAIL;
    char line[512];
    far_err rc = FAR_EPROG_UNAVAIL;
    while (rc != FAR_OK && fgets(line, sizeof line, f)) {
        char *save = NULL, *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *nm = strtok_r(line, " \t\n", &save);
        char *num = nm ? strtok_r(NULL, " \t\n", &save) : NULL;
        if (!num)
            continue;
        for (char *alias = nm; alias; alias = strtok_r(NULL, " \t\n", &save)) {
            if (alias != num && strcmp(alias, want) == 0) {
                *prog = (uint32_t)strtoul(num, NULL, 10);
                rc = FAR_OK;
                break;
            }
        }
    }
    fclose(f);
    return rc;
}

FAR__API far_err far_bind_program(const char *s, const char *where, uint32_t *prog)
{
    if (!s || !prog)
        return FAR_EMISUSE;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (*s && isdigit((unsigned char)*s)) {
        if (*end || errno || v > UINT32_MAX) {
            far__set_last_error("%.64s: not a program number", s);
            return FAR_EADDR;
        }
        *prog = (uint32_t)v;
        return FAR_OK;
    }
    if (!far__bind_name_ok(s)) {
        far__set_last_error("%.64s: not a program name", s);
        return FAR_EADDR;
    }
    if (etc_rpc_number(s, prog) == FAR_OK)
        return FAR_OK;
    far_err rc = far_bind_name_lookup(where, s, prog);
    if (rc == FAR_ENOTREG || rc == FAR_EPROG_UNAVAIL) {
        far__set_last_error("%s: unknown program name (not in /etc/rpc, not a name the binder "
                            "keeps%s)",
                            s, rc == FAR_EPROG_UNAVAIL ? ": it keeps none" : "");
        return FAR_EADDR;
    }
    return rc;
}

static far_err names_call(const char *where, uint32_t proc, far_xdr_encode_fn enc, const void *args,
                          far_xdr_decode_fn dec, void *res)
{
    far_client *c;
    far_err rc = far_bind_open(&c, where, NULL, 0);
    if (rc != FAR_OK)
        return rc;
    rc = far__bind_call(c, FAR_BIND_NAMES_PROG, NAMES_VERS, proc, enc, args, dec, res);
    far_client_destroy(c);
    if (rc == FAR_EPROG_UNAVAIL || rc == FAR_EPROG_MISMATCH)
        far__set_last_error("the binder keeps no names (not farbind)");
    return rc == FAR_EPROG_MISMATCH ? FAR_EPROG_UNAVAIL : rc;
}

FAR__API far_err far_bind_name_set(const char *name, uint32_t prog)
{
    if (!name || !far__bind_name_ok(name))
        return FAR_EMISUSE;
    char owner[32];
    far__bind_owner_of_self(owner, sizeof owner);
    far__bind_name_args a = {name, prog, owner};
    bool ok = false;
    far_err rc = names_call(NULL, NAMES_SET, far__bind_enc_name_args, &a, far__bind_dec_bool, &ok);
    if (rc == FAR_OK && !ok) {
        far__set_last_error("name %s: held by another owner (or caller not local)", name);
        return FAR_EAUTH;
    }
    return rc;
}

FAR__API far_err far_bind_name_unset(const char *name)
{
    if (!name || !far__bind_name_ok(name))
        return FAR_EMISUSE;
    bool ok = false;
    far_err rc = names_call(NULL, NAMES_UNSET, far__bind_enc_name, &name, far__bind_dec_bool, &ok);
    if (rc == FAR_OK && !ok) {
        uint32_t prog;
        if (far_bind_name_lookup(NULL, name, &prog) == FAR_OK) {
            far__set_last_error("name %s: owned by someone else", name);
            return FAR_EAUTH;
        }
        far__set_last_error("name %s: not registered", name);
        return FAR_ENOTREG;
    }
    return rc;
}

FAR__API far_err far_bind_name_lookup(const char *where, const char *name, uint32_t *prog)
{
    if (!name || !prog || !far__bind_name_ok(name))
        return FAR_EMISUSE;
    uint32_t v = 0;
    far_err rc = names_call(where, NAMES_LOOKUP, far__bind_enc_name, &name, far__bind_dec_u32, &v);
    if (rc != FAR_OK)
        return rc;
    if (v == 0) {
        far__set_last_error("name %s: not registered", name);
        return FAR_ENOTREG;
    }
    *prog = v;
    return FAR_OK;
}
