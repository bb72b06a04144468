/* farcall — authentication flavors a caller can name (RFC 5531 §8.2). */
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

#ifdef __cplusplus
}
#endif
#endif
