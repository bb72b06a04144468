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
