/* The duplicate request cache (src/svc/drc.c) on its own: the states (a new
 * call, a retransmission while it runs, after it is done), the key (another
 * client, xid, procedure or other arguments is another call), forgetting a
 * call that had no reply, and the bounds: entries, bytes, a client's share
 * (one client flooding does not push out another's replies), entries in
 * progress never evicted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "svc/drc.h"

static struct sockaddr_storage peer(uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = htons(port);
    return ss;
}

/* Looks a call up with args "a<n>"; returns the result, *e its entry. */
static far__drc_res look(far__drc *d, uint16_t port, uint32_t xid, uint32_t proc, int argn,
                         far__drc_entry **e, char *reply, size_t cap)
{
    struct sockaddr_storage p = peer(port);
    char args[16];
    int n = snprintf(args, sizeof args, "a%d", argn);
    uint8_t *r = NULL;
    size_t rl = 0;
    far__drc_res v = far__drc_lookup(d, &p, sizeof(struct sockaddr_in), xid, 100, 1, proc,
                                     (const uint8_t *)args, (size_t)n, e, &r, &rl);
    if (v == FAR__DRC_DONE) {
        assert_non_null(r);
        assert_true(rl < cap);
        memcpy(reply, r, rl);
        reply[rl] = 0;
        free(r);
    }
    return v;
}

static void store(far__drc *d, far__drc_entry *e, const char *text)
{
    size_t n = strlen(text);
    uint8_t *b = malloc(n);
    memcpy(b, text, n);
    far__drc_store(d, e, b, n);
}

static void test_states_and_key(void **s)
{
    (void)s;
    far__drc *d = far__drc_create(64, 1 << 20);
    assert_non_null(d);
    far__drc_entry *e, *e2;
    char rep[64];
    assert_int_equal(look(d, 1000, 7, 1, 1, &e, rep, sizeof rep), FAR__DRC_MISS);
    assert_non_null(e);
    /* a retransmission while it runs: dropped */
    assert_int_equal(look(d, 1000, 7, 1, 1, &e2, rep, sizeof rep), FAR__DRC_INPROG);
    store(d, e, "reply-7");
    /* after: the reply as it was */
    assert_int_equal(look(d, 1000, 7, 1, 1, &e2, rep, sizeof rep), FAR__DRC_DONE);
    assert_string_equal(rep, "reply-7");
    assert_int_equal(look(d, 1000, 7, 1, 1, &e2, rep, sizeof rep), FAR__DRC_DONE);

    /* another call: other arguments with the same xid, another procedure,
     * another xid, another client (port) */
    assert_int_equal(look(d, 1000, 7, 1, 2, &e2, rep, sizeof rep), FAR__DRC_MISS);
    far__drc_forget(d, e2);
    assert_int_equal(look(d, 1000, 7, 2, 1, &e2, rep, sizeof rep), FAR__DRC_MISS);
    far__drc_forget(d, e2);
    assert_int_equal(look(d, 1000, 8, 1, 1, &e2, rep, sizeof rep), FAR__DRC_MISS);
    far__drc_forget(d, e2);
    assert_int_equal(look(d, 1001, 7, 1, 1, &e2, rep, sizeof rep), FAR__DRC_MISS);
    /* forgotten (no reply): a retransmission runs it */
    far__drc_forget(d, e2);
    assert_int_equal(look(d, 1001, 7, 1, 1, &e2, rep, sizeof rep), FAR__DRC_MISS);
    far__drc_forget(d, e2);

    far__drc_stats st;
    far__drc_stats_get(d, &st);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.inprog_drops, 1);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.bytes, strlen("reply-7"));
    far__drc_destroy(d);
}

static void test_bounds(void **s)
{
    (void)s;
    /* entries: 64 at most, the oldest done go first */
    far__drc *d = far__drc_create(64, 1 << 20);
    far__drc_entry *e;
    char rep[64];
    for (int i = 0; i < 200; i++) {
        assert_int_equal(look(d, (uint16_t)(2000 + i % 16), (uint32_t)i, 1, i, &e, rep, sizeof rep),
                         FAR__DRC_MISS);
        assert_non_null(e);
        store(d, e, "r");
    }
    far__drc_stats st;
    far__drc_stats_get(d, &st);
    assert_true(st.entries <= 64);
    assert_int_equal(st.evicted, 200 - st.entries);
    /* the newest are there, the oldest not */
    assert_int_equal(look(d, 2000 + 199 % 16, 199, 1, 199, &e, rep, sizeof rep), FAR__DRC_DONE);
    assert_int_equal(look(d, 2000, 0, 1, 0, &e, rep, sizeof rep), FAR__DRC_MISS);
    far__drc_forget(d, e);
    far__drc_destroy(d);

    /* bytes: 1000 at most */
    d = far__drc_create(1024, 1000);
    char big[201];
    memset(big, 'x', 200);
    big[200] = 0;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(look(d, (uint16_t)(3000 + i), 1, 1, i, &e, rep, sizeof rep),
                         FAR__DRC_MISS);
        store(d, e, big);
        far__drc_stats_get(d, &st);
        assert_true(st.bytes <= 1000);
    }
    assert_int_equal(st.entries, 5);
    far__drc_destroy(d);
}

static void test_fair_share(void **s)
{
    (void)s;
    /* 64 entries: a client's share is 8 */
    far__drc *d = far__drc_create(64, 1 << 20);
    far__drc_entry *e;
    char rep[64];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(look(d, 4000, (uint32_t)i, 1, i, &e, rep, sizeof rep), FAR__DRC_MISS);
        store(d, e, "b");
    }
    /* client A floods: it loses its own oldest, B keeps all of its replies */
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(look(d, 4001, (uint32_t)i, 1, i, &e, rep, sizeof rep), FAR__DRC_MISS);
        assert_non_null(e);
        store(d, e, "a");
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(look(d, 4000, (uint32_t)i, 1, i, &e, rep, sizeof rep), FAR__DRC_DONE);
        assert_string_equal(rep, "b");
    }
    far__drc_stats st;
    far__drc_stats_get(d, &st);
    assert_int_equal(st.entries, 4 + 8);
    /* A's newest 8 are there */
    for (int i = 992; i < 1000; i++)
        assert_int_equal(look(d, 4001, (uint32_t)i, 1, i, &e, rep, sizeof rep), FAR__DRC_DONE);
    far__drc_destroy(d);
}

/* A client that stopped (to retransmit a call whose reply was lost) keeps
 * its newest reply while many busier clients fill the cache: with the
 * oldest-of-all rule it would be pushed out after max_entries replies. */
static void test_stopped_client_keeps_newest(void **s)
{
    (void)s;
    far__drc *d = far__drc_create(64, 1 << 20);
    far__drc_entry *e;
    char rep[64];
    for (int i = 0; i < 5; i++) { /* client 1000: five calls, the last one 104 */
        assert_int_equal(look(d, 1000, 100 + (uint32_t)i, 1, i, &e, rep, sizeof rep),
                         FAR__DRC_MISS);
        store(d, e, "mine");
    }
    for (int i = 0; i < 2000; i++) { /* 20 busy clients, 100 calls each */
        uint16_t port = (uint16_t)(2000 + i % 20);
        assert_int_equal(look(d, port, 5000 + (uint32_t)i, 1, i, &e, rep, sizeof rep),
                         FAR__DRC_MISS);
        if (e)
            store(d, e, "theirs");
    }
    assert_int_equal(look(d, 1000, 104, 1, 4, &e, rep, sizeof rep), FAR__DRC_DONE);
    assert_string_equal(rep, "mine");
    far__drc_destroy(d);
}

/* A call whose reply was not kept (a large stream reply): found done, with
 * no reply, and not run again. */
static void test_unkept_reply(void **s)
{
    (void)s;
    far__drc *d = far__drc_create(64, 1 << 20);
    far__drc_entry *e;
    char rep[64] = "untouched";
    assert_int_equal(look(d, 1000, 9, 1, 1, &e, rep, sizeof rep), FAR__DRC_MISS);
    far__drc_store_unkept(d, e);
    struct sockaddr_storage p = peer(1000);
    uint8_t *r = (uint8_t *)1;
    size_t rl = 99;
    assert_int_equal(far__drc_lookup(d, &p, sizeof(struct sockaddr_in), 9, 100, 1, 1,
                                     (const uint8_t *)"a1", 2, &e, &r, &rl),
                     FAR__DRC_DONE);
    assert_null(r);
    assert_int_equal(rl, 0);
    far__drc_destroy(d);
}

/* Another life of a client at the same address (a FAR_CTX client process
 * restarted on the same port, with another context handle) is another call:
 * the old life's reply is not replayed to it. */
static void test_other_life_other_call(void **s)
{
    (void)s;
    far__drc *d = far__drc_create(64, 1 << 20);
    far__drc_entry *e;
    struct sockaddr_storage p = peer(1000);
    uint8_t *r = NULL;
    size_t rl = 0;
    assert_int_equal(far__drc_lookup_life(d, &p, sizeof(struct sockaddr_in), 0x1111, 7, 100, 1, 1,
                                          (const uint8_t *)"a1", 2, &e, &r, &rl),
                     FAR__DRC_MISS);
    store(d, e, "old life");
    assert_int_equal(far__drc_lookup_life(d, &p, sizeof(struct sockaddr_in), 0x2222, 7, 100, 1, 1,
                                          (const uint8_t *)"a1", 2, &e, &r, &rl),
                     FAR__DRC_MISS);
    assert_non_null(e);
    far__drc_forget(d, e);
    assert_int_equal(far__drc_lookup_life(d, &p, sizeof(struct sockaddr_in), 0x1111, 7, 100, 1, 1,
                                          (const uint8_t *)"a1", 2, &e, &r, &rl),
                     FAR__DRC_DONE);
    assert_memory_equal(r, "old life", 8);
    free(r);
    far__drc_destroy(d);
}

static void test_inprog_never_evicted(void **s)
{
    (void)s;
    far__drc *d = far__drc_create(8, 1 << 20);
    far__drc_entry *e[8], *x;
    char rep[64];
    for (int i = 0; i < 8; i++) {
        assert_int_equal(look(d, (uint16_t)(5000 + i), 1, 1, 0, &e[i], rep, sizeof rep),
                         FAR__DRC_MISS);
        assert_non_null(e[i]);
    }
    /* full of calls in progress: the next one runs uncached */
    assert_int_equal(look(d, 5100, 1, 1, 0, &x, rep, sizeof rep), FAR__DRC_MISS);
    assert_null(x);
    for (int i = 0; i < 8; i++)
        assert_int_equal(look(d, (uint16_t)(5000 + i), 1, 1, 0, &x, rep, sizeof rep),
                         FAR__DRC_INPROG);
    /* once one is done, it can be evicted for a new call */
    store(d, e[0], "done");
    assert_int_equal(look(d, 5100, 1, 1, 0, &x, rep, sizeof rep), FAR__DRC_MISS);
    assert_non_null(x);
    far__drc_stats st;
    far__drc_stats_get(d, &st);
    assert_int_equal(st.uncached, 1);
    assert_int_equal(st.evicted, 1);
    for (int i = 1; i < 8; i++)
        far__drc_forget(d, e[i]);
    far__drc_forget(d, x);
    far__drc_stats_get(d, &st);
    assert_int_equal(st.entries, 0);
    far__drc_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_states_and_key),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_fair_share),
        cmocka_unit_test(test_stopped_client_keeps_newest),
        cmocka_unit_test(test_unkept_reply),
        cmocka_unit_test(test_other_life_other_call),
        cmocka_unit_test(test_inprog_never_evicted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
