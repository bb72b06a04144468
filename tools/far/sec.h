/* far's security options (sec.c): --level, --key, --identity, for the
 * subcommands that call a server (ping, describe, call). */
#ifndef FAR_TOOL_SEC_H
#define FAR_TOOL_SEC_H

#include <farcall/rpc.h>

typedef struct far_tool_sec {
    far_security level;   /* --level none|auth|integ|priv (default none) */
    const char *key_file; /* --key FILE: 32 bytes, raw or 64 hex digits, mode 0600 */
    const char *identity; /* --identity NAME (default $FARCALL_IDENTITY, else $USER) */
    uint8_t key[FAR_KEY_BYTES];
} far_tool_sec;

/* If argv[*i] is one of the options, takes it (and its value: *i moves on)
 * and returns 1; 0 if it is not one; -1 after printing what is wrong. */
int far__tool_sec_opt(int argc, char **argv, int *i, far_tool_sec *s);
/* Loads the key and fills o's security fields: false after printing why. */
bool far__tool_sec_apply(far_tool_sec *s, far_client_opts *o);

#endif
