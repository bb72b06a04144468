/* calc client: calc_client ADDRESS A B -> A*B and sqrt(A*B). */
#include <stdlib.h>

#include "calc.h"
#include "common/example_server.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: calc_client ADDRESS A B\n");
        return 2;
    }
    far_client *c = example_connect("calc_client", argv[1]);
    if (!c)
        return 1;
    operands op = {strtof(argv[2], NULL), strtof(argv[3], NULL)};
    float product;
    double root = 0;
    far_err rc = multiply_1(c, &op, &product, NULL, NULL);
    if (rc == FAR_OK) {
        double p = product;
        rc = square_root_1(c, &p, &root, NULL, NULL);
    }
    far_client_destroy(c);
    if (rc != FAR_OK)
        return example_fail("calc_client", rc);
    printf("%g * %g = %g\nsqrt(%g) = %g\n", op.a, op.b, product, product, root);
    return 0;
}
