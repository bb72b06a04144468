/* bank client: one call of each semantics (docs/semantics.md), and what the
 * descriptor fargen made says of each procedure. */
#include "bank.h"
#include "common/example_server.h"

static const char *sem_name(far_semantics s)
{
    switch (s) {
    case FAR_SEM_MAYBE:
        return "may-be";
    case FAR_SEM_AT_LEAST_ONCE:
        return "at-least-once";
    case FAR_SEM_EXACTLY_ONCE:
        return "exactly-once";
    default:
        return "at-most-once";
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bank_client ADDRESS\n");
        return 2;
    }
    const far_program_desc *d = bank_prog_1_program();
    for (size_t i = 0; i < d->nprocs; i++)
        if (d->procs[i].proc)
            printf("%-8s %s\n", d->procs[i].name, sem_name(d->procs[i].semantics));
    far_client *c = example_connect("bank_client", argv[1]);
    if (!c)
        return 1;
    far_err rc = note_1(c, &(char *){"opening"}, NULL); /* may-be: sent once */
    deposit dep = {.to = "alice", .amount = 100};
    int64_t v = 0;
    if (rc == FAR_OK)
        rc = deposit_1(c, &dep, &v, NULL, NULL); /* exactly-once: its key, the store */
    if (rc == FAR_OK)
        printf("alice: deposit 100 (exactly-once) -> %lld\n", (long long)v);
    dep.amount = 30;
    if (rc == FAR_OK)
        rc = withdraw_1(c, &dep, &v, NULL, NULL); /* at-most-once: the default */
    if (rc == FAR_OK)
        printf("alice: withdraw 30 (at-most-once) -> %lld\n", (long long)v);
    account who = "alice";
    if (rc == FAR_OK)
        rc = balance_1(c, &who, &v, NULL, NULL); /* at-least-once: a read */
    if (rc == FAR_OK)
        printf("alice: balance (at-least-once) -> %lld\n", (long long)v);
    /* the per-call choice wins: a classic server could not keep a deposit */
    far_call_opts amo = {.semantics = FAR_SEM_AT_MOST_ONCE};
    dep.amount = 5;
    if (rc == FAR_OK)
        rc = deposit_1(c, &dep, &v, NULL, &amo);
    if (rc == FAR_OK)
        printf("alice: deposit 5 (called at-most-once) -> %lld\n", (long long)v);
    far_client_destroy(c);
    return rc == FAR_OK ? 0 : example_fail("bank_client", rc);
}
