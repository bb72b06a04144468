// A C++ program on keywords.x, whose names are C++ keywords (issue 14,
// item 2): it fills in the generated impl struct (members delete_, new_,
// class_, friend_fn, operator_, count, virtual_, get_fn), serves it on
// loopback TCP, and calls every procedure through the generated client
// stubs; each result is decoded in heap mode (released with T_free) and
// into an arena, and checked.  The generated .c files are compiled as C, this
// file as C++ (C++11): it compiles only if the header does.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "keywords.h"

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c);             \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

// A copy of s in the call's arena.
static char *arena_str(far_svc_req *req, const char *s)
{
    size_t n = std::strlen(s) + 1;
    char *p = static_cast<char *>(far_arena_alloc(far_svc_req_arena(req), n));
    if (p)
        std::memcpy(p, s, n);
    return p;
}

// ---------------------------------------------------------------- server

static far_err do_delete(far_svc_req *, const struct class_ *argp, struct class_ *resp)
{
    *resp = *argp; // pointers into the arguments, which live as long as the call
    resp->private_ = argp->private_ + 1;
    return FAR_OK;
}

static far_err do_new(far_svc_req *, const struct this_ *argp, struct this_ *resp)
{
    *resp = *argp;
    resp->template_[0] = argp->template_[1];
    resp->template_[1] = argp->template_[0];
    return FAR_OK;
}

static far_err do_class(far_svc_req *, const struct try_ *argp, struct try_ *resp)
{
    *resp = *argp;
    return FAR_OK;
}

static far_err do_friend(far_svc_req *, const enum operator_ *argp, enum operator_ *resp)
{
    *resp = *argp == and_ ? compl_ : bitand_;
    return FAR_OK;
}

static far_err do_operator(far_svc_req *req, typename_ arg1, const wchar_t_ arg2, typename_ *resp)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s=%d", arg1, (int)(arg2[0] + arg2[1]));
    *resp = arena_str(req, buf);
    return *resp ? FAR_OK : FAR_ESYSTEM_ERR;
}

static far_err do_count(far_svc_req *, const count *argp, count *resp)
{
    *resp = *argp * 2;
    return FAR_OK;
}

static far_err do_virtual(far_svc_req *, const struct static_cast_ *argp, struct static_cast_ *resp)
{
    *resp = *argp;
    resp->asm_ = argp->typeof_ + argp->concept_;
    return FAR_OK;
}

static far_err do_get(far_svc_req *, const int32_t *argp, int32_t *resp)
{
    *resp = *argp + 1;
    return FAR_OK;
}

// ---------------------------------------------------------------- client

static char str_a[] = "abc", str_b[] = "longer string", str_c[] = "x";

static void call_delete(far_client *c, far_arena *arena)
{
    int32_t nums[] = {1, 2, 3};
    uint8_t bytes[] = {9, 8};
    class_ tail;
    std::memset(&tail, 0, sizeof tail);
    tail.private_ = 7;
    tail.virtual_ = str_c;
    tail.friend_of = str_c;
    class_ head;
    std::memset(&head, 0, sizeof head);
    head.private_ = 41;
    head.public_ = 4000000000u;
    head.protected_ = -5;
    head.virtual_ = str_a;
    head.friend_of = str_b;
    head.using_.using_len = 3;
    head.using_.using_val = nums;
    head.mutable_.mutable_len = 2;
    head.mutable_.mutable_val = bytes;
    head.namespace_ = &tail;
    for (int heap = 0; heap < 2; heap++) {
        class_ r;
        std::memset(&r, 0, sizeof r);
        CHECK(delete_1(c, &head, &r, heap ? NULL : arena, NULL) == FAR_OK);
        CHECK(r.private_ == 42 && r.public_ == 4000000000u && r.protected_ == -5);
        CHECK(r.virtual_ && std::strcmp(r.virtual_, "abc") == 0);
        CHECK(r.friend_of && std::strcmp(r.friend_of, "longer string") == 0);
        CHECK(r.using_.using_len == 3 && r.using_.using_val && r.using_.using_val[2] == 3);
        CHECK(r.mutable_.mutable_len == 2 && r.mutable_.mutable_val &&
              r.mutable_.mutable_val[0] == 9);
        CHECK(r.namespace_ && r.namespace_->private_ == 7 && !r.namespace_->namespace_);
        if (heap)
            class_free(&r);
        far_arena_reset(arena);
    }
}

static void call_new(far_client *c, far_arena *arena)
{
    char16_t_ n = 16;
    this_ v;
    std::memset(&v, 0, sizeof v);
    v.not_eq_ = xor_;
    v.template_[0] = 1;
    v.template_[1] = 2;
    v.char32_t_ = &n;
    for (int heap = 0; heap < 2; heap++) {
        this_ r;
        std::memset(&r, 0, sizeof r);
        CHECK(new_1(c, &v, &r, heap ? NULL : arena, NULL) == FAR_OK);
        CHECK(r.not_eq_ == xor_ && r.template_[0] == 2 && r.template_[1] == 1);
        CHECK(!r.this_class && r.char32_t_ && *r.char32_t_ == 16);
        if (heap)
            this_free(&r);
        far_arena_reset(arena);
    }
}

// every arm of the union try
static void call_class(far_client *c, far_arena *arena)
{
    const enum operator_ arms[] = {and_, or_, not_, xor_, bitand_, bitor_};
    for (size_t i = 0; i < sizeof arms / sizeof arms[0]; i++) {
        try_ v;
        std::memset(&v, 0, sizeof v);
        v.catch_ = arms[i];
        switch (arms[i]) {
        case and_:
            v.try_u.throw_ = -3;
            break;
        case or_:
        case not_:
            v.try_u.noexcept_ = str_b;
            break;
        case xor_:
            v.try_u.decltype_.virtual_ = str_a;
            v.try_u.decltype_.friend_of = str_c;
            break;
        case bitand_:
            break;
        default: // bitor_: the default arm
            v.try_u.nullptr_.not_eq_ = and_;
            break;
        }
        for (int heap = 0; heap < 2; heap++) {
            try_ r;
            std::memset(&r, 0, sizeof r);
            CHECK(class_1(c, &v, &r, heap ? NULL : arena, NULL) == FAR_OK);
            CHECK(r.catch_ == arms[i]);
            if (arms[i] == and_)
                CHECK(r.try_u.throw_ == -3);
            if (arms[i] == or_ || arms[i] == not_)
                CHECK(r.try_u.noexcept_ && std::strcmp(r.try_u.noexcept_, str_b) == 0);
            if (arms[i] == xor_)
                CHECK(r.try_u.decltype_.virtual_ &&
                      std::strcmp(r.try_u.decltype_.virtual_, str_a) == 0);
            if (arms[i] == bitor_)
                CHECK(r.try_u.nullptr_.not_eq_ == and_);
            if (heap)
                try_free(&r);
            far_arena_reset(arena);
        }
    }
}

static void call_rest(far_client *c, far_arena *arena)
{
    CHECK(ping_1(c, NULL) == FAR_OK);

    operator_ op = and_, back = or_;
    CHECK(friend_1(c, &op, &back, arena, NULL) == FAR_OK && back == compl_);
    op = xor_;
    CHECK(friend_1(c, &op, &back, NULL, NULL) == FAR_OK && back == bitand_);

    wchar_t_ pair = {20, 22};
    typename_ s = NULL;
    CHECK(operator_1(c, str_a, pair, &s, NULL, NULL) == FAR_OK && s &&
          std::strcmp(s, "abc=42") == 0);
    typename_free(&s); // heap mode: the string is malloc'd
    s = NULL;
    CHECK(operator_1(c, str_c, pair, &s, arena, NULL) == FAR_OK && s &&
          std::strcmp(s, "x=42") == 0);
    far_arena_reset(arena);

    count n = 21, twice = 0;
    CHECK(count_1(c, &n, &twice, arena, NULL) == FAR_OK && twice == 42);

    static_cast_ v;
    std::memset(&v, 0, sizeof v);
    v.thread_local_.constexpr_ = 5;
    // an inline enum: in C++ its values are members of the unnamed struct
    typedef decltype(v.thread_local_) inner;
    v.thread_local_.static_assert_ = inner::alignof_;
    v.reinterpret_cast_.typeid_ = 2; // the default arm
    v.reinterpret_cast_.reinterpret_cast_u.const_cast_ = str_b;
    v.typeof_ = 40;
    v.concept_ = 2;
    v.co_await_ = v.co_yield_ = v.co_return_ = 1;
    v.char8_t_ = 8;
    for (int heap = 0; heap < 2; heap++) {
        static_cast_ r;
        std::memset(&r, 0, sizeof r);
        CHECK(virtual_1(c, &v, &r, heap ? NULL : arena, NULL) == FAR_OK);
        CHECK(r.asm_ == 42 && r.thread_local_.constexpr_ == 5 && r.char8_t_ == 8);
        CHECK(r.thread_local_.static_assert_ == inner::alignof_);
        CHECK(r.reinterpret_cast_.typeid_ == 2 &&
              r.reinterpret_cast_.reinterpret_cast_u.const_cast_ &&
              std::strcmp(r.reinterpret_cast_.reinterpret_cast_u.const_cast_, str_b) == 0);
        if (heap)
            static_cast_free(&r);
        far_arena_reset(arena);
    }

    int32_t one = 1, two = 0;
    CHECK(get_1(c, &one, &two, NULL, NULL) == FAR_OK && two == 2);
}

int main()
{
    export_1_impl impl;
    std::memset(&impl, 0, sizeof impl); // no designated initializers in C++11
    impl.delete_ = do_delete;
    impl.new_ = do_new;
    impl.class_ = do_class;
    impl.friend_fn = do_friend;
    impl.operator_ = do_operator;
    impl.count = do_count;
    impl.virtual_ = do_virtual;
    impl.get_fn = do_get;
    // ping has no function: a void procedure 0 answers anyway

    far_server *srv;
    char addr[128];
    if (far_server_create(&srv, NULL) != FAR_OK ||
        far_server_add_program(srv, export_1_program(), &impl) != FAR_OK ||
        far_server_listen(srv, "tcp://127.0.0.1:0", addr, sizeof addr) != FAR_OK ||
        far_server_start(srv) != FAR_OK) {
        std::fprintf(stderr, "server: %s\n", far_last_error());
        return 1;
    }
    far_client *c;
    if (far_client_open(&c, addr, NULL) != FAR_OK) {
        std::fprintf(stderr, "client: %s\n", far_last_error());
        return 1;
    }
    far_arena arena;
    far_arena_init(&arena, NULL, 0, 0);

    call_delete(c, &arena);
    call_new(c, &arena);
    call_class(c, &arena);
    call_rest(c, &arena);

    far_arena_fini(&arena);
    far_client_destroy(c);
    far_server_stop(srv);
    far_server_destroy(srv);
    if (failures)
        return 1;
    std::printf("cxx loopback: all calls ok\n");
    return 0;
}
