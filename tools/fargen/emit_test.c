#include "fargen.h"
void fg_emit_test(fg_emit *e)
{
    (void)e;
}
