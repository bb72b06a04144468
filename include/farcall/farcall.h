/* farcall — everything a program needs: one include. */
#ifndef FARCALL_FARCALL_H
#define FARCALL_FARCALL_H

#include "farcall/err.h"
#include "farcall/arena.h"
#include "farcall/auth.h"
#include "farcall/xdr.h"
#include "farcall/rpc.h"
#include "farcall/store.h"
#include "farcall/bind.h"
#include "farcall/dyn.h"

#endif
