/* libFuzzer harness for fargen's front end: arbitrary bytes as a .x file
 * (without cpp; `#` line markers and `%` lines are the lexer's), compiled
 * in-process by fg_compile.  When it compiles, every emitter runs on the
 * result too.  A crash, a sanitizer report, a leak, or an error message not
 * in the "file:line:col: error: ..." form is a bug. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fargen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void (*const emitters[])(fg_emit *) = {
    fg_emit_h,           fg_emit_xdr,        fg_emit_clnt, fg_emit_svc,
    fg_emit_sample_clnt, fg_emit_sample_svc, fg_emit_test,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fg_unit u;
    memset(&u, 0, sizeof u);
    if (fg_compile(&u, (const char *)data, size, "fuzz.x")) {
        for (size_t i = 0; i < sizeof emitters / sizeof emitters[0]; i++) {
            fg_buf out = {0};
            if (!setjmp(u.fail)) {
                fg_emit e = {&u, &out, "fuzz", "fuzz.x", 0};
                emitters[i](&e);
            }
            fg_buf_free(&out);
        }
    } else if (strncmp(u.err, "fuzz.x", 6) != 0 && !strstr(u.err, ": error: ")) {
        fprintf(stderr, "fuzz_fargen: malformed diagnostic: %s\n", u.err);
        abort();
    }
    fg_unit_free(&u);
    return 0;
}
