/* far's security options: --level LEVEL, --key FILE, --identity NAME. */
#include "sec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int far__tool_sec_opt(int argc, char **argv, int *i, far_tool_sec *s)
{
    const char *a = argv[*i];
    static const char *const names[] = {"--level", "--key", "--identity"};
    for (int k = 0; k < 3; k++) {
        size_t n = strlen(names[k]);
        if (strncmp(a, names[k], n) != 0 || (a[n] && a[n] != '='))
            continue;
        const char *v = a[n] == '=' ? a + n + 1 : *i + 1 < argc ? argv[++*i] : NULL;
        if (!v || !*v) {
            fprintf(stderr, "far %s: %s takes a value\n", argv[0], names[k]);
            return -1;
        }
        if (k == 0 && far_security_parse(v, &s->level) != FAR_OK) {
            fprintf(stderr, "far %s: --level is none, auth, integ or priv (not '%s')\n", argv[0],
                    v);
            return -1;
        }
        if (k == 1)
            s->key_file = v;
        if (k == 2)
            s->identity = v;
        return 1;
    }
    return 0;
}

bool far__tool_sec_apply(far_tool_sec *s, far_client_opts *o)
{
    if (s->level == FAR_SEC_NONE) {
        if (s->key_file)
            fprintf(stderr, "far: --key is used only with --level auth, integ or priv\n");
        return !s->key_file;
    }
    if (!s->key_file) {
        fprintf(stderr, "far: --level %s needs --key FILE (the key shared with the server)\n",
                far_security_name(s->level));
        return false;
    }
    if (far_key_load(s->key_file, s->key) != FAR_OK) {
        fprintf(stderr, "far: %s\n", far_last_error());
        return false;
    }
    if (!s->identity)
        s->identity = getenv("FARCALL_IDENTITY");
    if (!s->identity)
        s->identity = getenv("USER");
    if (!s->identity || !*s->identity) {
        fprintf(stderr, "far: --level %s needs --identity NAME (or $FARCALL_IDENTITY)\n",
                far_security_name(s->level));
        return false;
    }
    o->security = s->level;
    o->identity = s->identity;
    o->key = s->key;
    return true;
}
