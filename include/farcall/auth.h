/* farcall — authentication flavors a caller can name (RFC 5531 §8.2), and
 * the reasons a server gives for refusing credentials (auth_stat, §9). */
#ifndef FARCALL_AUTH_H
#define FARCALL_AUTH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* AUTH_SYS (RFC 5531 Appendix A).  Limits are the RFC's: machine name of at
 * most 255 bytes, at most 16 supplementary gids, a body of at most 400 bytes. */
#define FAR_AUTH_SYS_MAX_MACHINE 255
#define FAR_AUTH_SYS_MAX_GIDS    16

typedef struct far_auth_sys {
    uint32_t stamp;
    char machinename[FAR_AUTH_SYS_MAX_MACHINE + 1];
    uint32_t uid;
    uint32_t gid;
    uint32_t ngids;
    uint32_t gids[FAR_AUTH_SYS_MAX_GIDS];
} far_auth_sys;

/* Authentication flavors (RFC 5531 §8.2). */
enum { FAR_AUTH_NONE = 0, FAR_AUTH_SYS = 1 };

/* Why a server denied a call with AUTH_ERROR (RFC 5531 §9, auth_stat): in
 * far_status.auth_stat when a call fails with FAR_EAUTH, and what a handler
 * passes to far_svc_req_set_auth_stat. */
typedef enum far_auth_stat {
    FAR_AUTH_OK = 0,                      /* success */
    FAR_AUTH_BADCRED = 1,                 /* bad credential (seal broken) */
    FAR_AUTH_REJECTEDCRED = 2,            /* client must begin a new session */
    FAR_AUTH_BADVERF = 3,                 /* bad verifier (seal broken) */
    FAR_AUTH_REJECTEDVERF = 4,            /* verifier expired or replayed */
    FAR_AUTH_TOOWEAK = 5,                 /* rejected for security reasons */
    FAR_AUTH_INVALIDRESP = 6,             /* bogus response verifier */
    FAR_AUTH_FAILED = 7,                  /* reason unknown */
    FAR_AUTH_KERB_GENERIC = 8,            /* kerberos generic error */
    FAR_AUTH_TIMEEXPIRE = 9,              /* time of credential expired */
    FAR_AUTH_TKT_FILE = 10,               /* problem with ticket file */
    FAR_AUTH_DECODE = 11,                 /* can't decode authenticator */
    FAR_AUTH_NET_ADDR = 12,               /* wrong net address in ticket */
    FAR_AUTH_RPCSEC_GSS_CREDPROBLEM = 13, /* no credentials for user */
    FAR_AUTH_RPCSEC_GSS_CTXPROBLEM = 14,  /* problem with context */
} far_auth_stat;

/* The RFC's name of an auth_stat value ("AUTH_TOOWEAK"), or "AUTH_?" for a
 * value it does not define.  Static string; any thread. */
const char *far_auth_stat_name(int stat);

/* What an auth_stat value means, in a few words ("credentials too weak for
 * the server").  Static string; any thread. */
const char *far_auth_stat_text(int stat);

#ifdef __cplusplus
}
#endif
#endif
