/* far_strerror / far_errname: one table covering every far_err value. */
#include "internal.h"

static const struct {
    const char *name;
    const char *text;
} errtab[] = {
    [FAR_OK] = {"FAR_OK", "success"},
    [FAR_EMISUSE] = {"FAR_EMISUSE", "API misuse (NULL argument, bad option or closed handle)"},
    [FAR_ENOMEM] = {"FAR_ENOMEM", "out of memory"},
    [FAR_ELIMIT] = {"FAR_ELIMIT", "a configured limit was exceeded"},
    [FAR_ETRUNC] = {"FAR_ETRUNC", "input ended before the value did"},
    [FAR_EPADDING] = {"FAR_EPADDING", "XDR padding bytes were not zero"},
    [FAR_EBADVALUE] = {"FAR_EBADVALUE", "value out of range for its type"},
    [FAR_EDEPTH] = {"FAR_EDEPTH", "data nested deeper than the configured maximum"},
    [FAR_ENOSPACE] = {"FAR_ENOSPACE", "encode buffer full"},
    [FAR_EOVERFLOW] = {"FAR_EOVERFLOW", "size computation overflow"},
    [FAR_ETRAILING] = {"FAR_ETRAILING", "bytes left over after a complete value"},
    [FAR_EIO] = {"FAR_EIO", "operating-system call failed"},
    [FAR_EADDR] = {"FAR_EADDR", "bad or unresolvable address"},
    [FAR_ECONNREFUSED] = {"FAR_ECONNREFUSED", "connection refused (is the server running?)"},
    [FAR_ECONNLOST] = {"FAR_ECONNLOST", "connection lost"},
    [FAR_ETIMEDOUT] = {"FAR_ETIMEDOUT", "call timed out"},
    [FAR_ECANCELED] = {"FAR_ECANCELED", "call cancelled"},
    [FAR_ECLOSED] = {"FAR_ECLOSED", "handle is closed or shutting down"},
    [FAR_EPROTO] = {"FAR_EPROTO", "malformed message from the peer"},
    [FAR_ETOOMANY] = {"FAR_ETOOMANY", "too many connections or calls in flight"},
    [FAR_EPROG_UNAVAIL] = {"FAR_EPROG_UNAVAIL", "program not available on the server"},
    [FAR_EPROG_MISMATCH] = {"FAR_EPROG_MISMATCH", "program version not served"},
    [FAR_EPROC_UNAVAIL] = {"FAR_EPROC_UNAVAIL", "procedure not available"},
    [FAR_EGARBAGE_ARGS] = {"FAR_EGARBAGE_ARGS", "server could not decode the arguments"},
    [FAR_ESYSTEM_ERR] = {"FAR_ESYSTEM_ERR", "system error on the server"},
    [FAR_ERPC_MISMATCH] = {"FAR_ERPC_MISMATCH", "server does not speak RPC version 2"},
    [FAR_EAUTH] = {"FAR_EAUTH", "authentication error"},
    [FAR_EADDRINUSE] = {"FAR_EADDRINUSE", "address already in use"},
    [FAR_ENOBINDER] = {"FAR_ENOBINDER", "no binder answered (is farbind or rpcbind running?)"},
    [FAR_ENOTREG] = {"FAR_ENOTREG", "not registered with the binder (is the server running?)"},
    [FAR_EJSON] = {"FAR_EJSON", "JSON value does not match its type"},
    [FAR_ENODESC] = {"FAR_ENODESC", "no description of the program's types"},
    [FAR_EUNKNOWN_OUTCOME] = {"FAR_EUNKNOWN_OUTCOME",
                              "the server restarted during the call: it may or may not have run"},
    [FAR_EPEER_DEAD] = {"FAR_EPEER_DEAD", "the server stopped answering (dead, or the path is)"},
    [FAR_EUNSUPPORTED] = {"FAR_EUNSUPPORTED",
                          "the peer does not support what the call requires (classic ONC RPC?)"},
    [FAR_EIDEMPOTENCY] = {"FAR_EIDEMPOTENCY", "idempotency key reused with other arguments"},
};

_Static_assert(FAR__ARRAY_LEN(errtab) == FAR_ERR_LAST + 1, "every far_err needs a table entry");

FAR__API const char *far_strerror(far_err err)
{
    if ((unsigned)err < FAR__ARRAY_LEN(errtab) && errtab[err].text)
        return errtab[err].text;
    return "unknown farcall error";
}

FAR__API const char *far_errname(far_err err)
{
    if ((unsigned)err < FAR__ARRAY_LEN(errtab) && errtab[err].name)
        return errtab[err].name;
    return "FAR_E?";
}
