/* fargen_desc_nodesc: calc.x compiled with fargen --no-desc has descriptors
 * without a type description or source (NULL, 0), the rest as ever. */
#include <stdio.h>

#include "calc.h"

int main(void)
{
    const far_program_desc *v[] = {calc_prog_1_program(), calc_prog_2_program()};
    int bad = 0;
    for (int i = 0; i < 2; i++) {
        if (v[i]->type_desc != NULL || v[i]->type_desc_len != 0 || v[i]->source != NULL) {
            fprintf(stderr, "version %u: type_desc %p (%zu bytes), source %p: expected none\n",
                    v[i]->vers, (const void *)v[i]->type_desc, v[i]->type_desc_len,
                    (const void *)v[i]->source);
            bad = 1;
        }
        if (v[i]->prog != CALC_PROG || v[i]->vers != (uint32_t)(i + 1) || v[i]->nprocs == 0) {
            fprintf(stderr, "version %d: the descriptor is wrong\n", i + 1);
            bad = 1;
        }
    }
    if (!bad)
        printf("fargen_desc_nodesc: ok\n");
    return bad;
}
