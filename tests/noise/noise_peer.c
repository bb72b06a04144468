/* The farcall side of the Noise interop test: runs one handshake and 100
 * transport messages each way against dissononce (tests/noise/
 * dissononce_peer.py, an independent Python implementation), which it
 * starts as a child talking over its stdin/stdout pipes (nothing goes over
 * the network).  Fresh random static keys and PSK, random ephemerals.
 *
 *   noise_peer PYTHON SCRIPT PROTOCOL init|resp ok|wrongpsk
 *
 * init|resp is farcall's role (dissononce takes the other).  ok: the
 * handshake must complete, both sides' handshake hashes agree, every
 * transport message decrypts and dissononce's answers carry what it
 * decrypted.  wrongpsk: dissononce gets the PSK with one bit flipped; the
 * handshake must fail on the reader of the first message that mixes the
 * PSK: with FAR_EAUTH if that is farcall, with dissononce's
 * DecryptFailedException if that is dissononce.
 *
 * The whole run is bounded (DEADLINE_S); the child is always reaped (killed
 * first if it outlives the deadline).  Exit status 0 on success. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "noise/noise.h"

#define DEADLINE_S 60
#define ROUNDS     100
#define FRAME_MAX  70000

static pid_t child = -1;
static int to_child = -1, from_child = -1;
static struct timespec t_end;

static const uint8_t prologue[] = "farcall noise interop";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Closes the pipes and waits for the child; its exit status, or -1 if it
 * had to be killed (or was already reaped). */
static int reap(void)
{
    if (child <= 0)
        return -1;
    if (to_child >= 0)
        close(to_child);
    if (from_child >= 0)
        close(from_child);
    to_child = from_child = -1;
    /* a few seconds to exit on its own after EOF, then SIGKILL */
    for (int i = 0; i < 50; i++) {
        int st;
        pid_t r = waitpid(child, &st, WNOHANG);
        if (r == child) {
            child = -1;
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        if (r < 0 && errno != EINTR) {
            child = -1;
            return -1;
        }
        usleep(100 * 1000);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    child = -1;
    return -1;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    if (child > 0)
        kill(child, SIGKILL);
    (void)reap();
    exit(1);
}

static int ms_left(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (t_end.tv_sec - now.tv_sec) * 1000 + (t_end.tv_nsec - now.tv_nsec) / 1000000;
    return ms < 0 ? 0 : (int)ms;
}

static void write_all(const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(to_child, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write to dissononce: %s", strerror(errno));
        p += w, n -= (size_t)w;
    }
}

static void read_all(uint8_t *p, size_t n)
{
    while (n) {
        struct pollfd pf = {.fd = from_child, .events = POLLIN};
        int left = ms_left();
        if (left == 0)
            die("no answer from dissononce within %d s", DEADLINE_S);
        int pr = poll(&pf, 1, left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue; /* the deadline check above ends it */
        ssize_t r = read(from_child, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die("dissononce closed its output (%s)", r < 0 ? strerror(errno) : "EOF");
        p += r, n -= (size_t)r;
    }
}

static void send_frame(char kind, const uint8_t *p, size_t n)
{
    uint8_t h[5] = {(uint8_t)kind, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
                    (uint8_t)n};
    write_all(h, 5);
    if (n)
        write_all(p, n);
}

/* The next frame into buf (FRAME_MAX); its kind, *n its length. */
static char recv_frame(uint8_t *buf, size_t *n)
{
    uint8_t h[5];
    read_all(h, 5);
    size_t len = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
    if (len > FRAME_MAX)
        die("dissononce sent a frame of %zu bytes", len);
    read_all(buf, len);
    *n = len;
    return (char)h[0];
}

/* Reads what dissononce still sends (it may have written more before it
 * read our 'F') until it closes its output, so it never writes into a
 * closed pipe. */
static void drain(void)
{
    uint8_t junk[4096];
    for (;;) {
        struct pollfd pf = {.fd = from_child, .events = POLLIN};
        int left = ms_left();
        if (left == 0)
            die("dissononce did not exit within %d s", DEADLINE_S);
        int pr = poll(&pf, 1, left);
        if (pr <= 0)
            continue;
        ssize_t r = read(from_child, junk, sizeof junk);
        if (r == 0 || (r < 0 && errno != EINTR))
            return;
    }
}

static void start_child(const char *python, const char *script, const char *role,
                        const char *protocol, const char *psk_hex)
{
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0)
        die("pipe: %s", strerror(errno));
    child = fork();
    if (child < 0)
        die("fork: %s", strerror(errno));
    if (child == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        execl(python, python, script, role, protocol, psk_hex, (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", python, strerror(errno));
        _exit(127);
    }
    close(in[0]), close(out[1]);
    to_child = in[1], from_child = out[0];
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

int main(int argc, char **argv)
{
    if (argc != 6 || (strcmp(argv[4], "init") && strcmp(argv[4], "resp")) ||
        (strcmp(argv[5], "ok") && strcmp(argv[5], "wrongpsk"))) {
        fprintf(stderr, "usage: noise_peer PYTHON SCRIPT PROTOCOL init|resp ok|wrongpsk\n");
        return 2;
    }
    const char *protocol = argv[3];
    bool initiator = strcmp(argv[4], "init") == 0;
    bool wrong_psk = strcmp(argv[5], "wrongpsk") == 0;
    signal(SIGPIPE, SIG_IGN);
    clock_gettime(CLOCK_MONOTONIC, &t_end);
    t_end.tv_sec += DEADLINE_S;
    if (sodium_init() < 0)
        die("sodium_init");

    uint8_t psk[32], peer_psk[32];
    randombytes_buf(psk, sizeof psk);
    memcpy(peer_psk, psk, sizeof psk);
    if (wrong_psk)
        peer_psk[0] ^= 0x01;
    char psk_hex[65];
    hex(peer_psk, 32, psk_hex);
    start_child(argv[1], argv[2], initiator ? "resp" : "init", protocol, psk_hex);

    far__noise_hs *hs;
    far_err e = far__noise_hs_new(&hs, protocol, initiator);
    if (e != FAR_OK)
        die("%s: far__noise_hs_new: %s", protocol, far_errname(e));
    uint8_t s_priv[32], s_pub[32];
    far__noise_keypair(s_priv, s_pub);
    send_frame('K', s_pub, 32);
    static uint8_t buf[FRAME_MAX], payload[FRAME_MAX], msg[FRAME_MAX];
    size_t n;
    uint8_t peer_pub[32];
    if (recv_frame(buf, &n) != 'K' || n != 32)
        die("no static key from dissononce");
    memcpy(peer_pub, buf, 32);
    bool need_s, need_rs;
    unsigned psks;
    far__noise_hs_needs(hs, &need_s, &need_rs, &psks);
    if (far__noise_hs_set_prologue(hs, prologue, sizeof prologue - 1) != FAR_OK ||
        (need_s && far__noise_hs_set_static(hs, s_priv) != FAR_OK) ||
        (need_rs && far__noise_hs_set_remote_static(hs, peer_pub) != FAR_OK))
        die("setting the keys");
    for (unsigned i = 0; i < 8; i++)
        if ((psks & (1u << i)) && far__noise_hs_set_psk(hs, i, psk) != FAR_OK)
            die("set_psk(%u)", i);
    if ((e = far__noise_hs_start(hs)) != FAR_OK)
        die("start: %s", far_errname(e));
    sodium_memzero(s_priv, sizeof s_priv);

    /* the handshake */
    unsigned m = 0;
    for (; far__noise_hs_action(hs) != FAR__NOISE_SPLIT; m++) {
        far__noise_action a = far__noise_hs_action(hs);
        if (a == FAR__NOISE_WRITE) {
            int pl = snprintf((char *)payload, 64, "hs %u from farcall", m);
            if ((e = far__noise_hs_write(hs, payload, (size_t)pl, msg, sizeof msg, &n)) != FAR_OK)
                die("write of handshake message %u: %s", m, far_errname(e));
            send_frame('H', msg, n);
            continue;
        }
        if (a != FAR__NOISE_READ)
            die("handshake state %d at message %u", (int)a, m);
        char kind = recv_frame(buf, &n);
        if (kind == 'F') {
            buf[n < sizeof buf ? n : sizeof buf - 1] = '\0';
            if (wrong_psk && strstr((char *)buf, "DecryptFailedException")) {
                printf("ok: %s, farcall %s, wrong PSK: dissononce refused: %s\n", protocol, argv[4],
                       (char *)buf);
                far__noise_hs_free(hs);
                return reap() == 0 ? 0 : 1;
            }
            die("dissononce failed: %s", (char *)buf);
        }
        if (kind != 'H')
            die("frame '%c' where handshake message %u was due", kind, m);
        size_t plen;
        e = far__noise_hs_read(hs, buf, n, payload, sizeof payload, &plen);
        if (e != FAR_OK) {
            if (wrong_psk && e == FAR_EAUTH && far__noise_hs_action(hs) == FAR__NOISE_FAILED) {
                printf("ok: %s, farcall %s, wrong PSK: farcall refused message %u with %s\n",
                       protocol, argv[4], m, far_errname(e));
                static const char why[] = "farcall refused the message";
                send_frame('F', (const uint8_t *)why, sizeof why - 1);
                drain();
                far__noise_hs_free(hs);
                return reap() == 0 ? 0 : 1;
            }
            die("read of handshake message %u: %s", m, far_errname(e));
        }
        char want[64];
        int wl = snprintf(want, sizeof want, "hs %u from dissononce", m);
        if (plen != (size_t)wl || memcmp(payload, want, plen) != 0)
            die("handshake message %u: payload differs", m);
    }
    if (wrong_psk) {
        /* our side wrote the last message: dissononce must refuse it */
        char kind = recv_frame(buf, &n);
        buf[n < sizeof buf ? n : sizeof buf - 1] = '\0';
        if (kind == 'F' && strstr((char *)buf, "DecryptFailedException")) {
            printf("ok: %s, farcall %s, wrong PSK: dissononce refused: %s\n", protocol, argv[4],
                   (char *)buf);
            far__noise_hs_free(hs);
            return reap() == 0 ? 0 : 1;
        }
        die("%s: the handshake completed with a wrong PSK", protocol);
    }

    far__noise_cs tx, rx;
    uint8_t h[FAR__NOISE_MAX_HASHLEN];
    size_t hl;
    if ((e = far__noise_hs_split(hs, &tx, &rx, h, &hl)) != FAR_OK)
        die("split: %s", far_errname(e));
    /* the peer's static key, given or received, is the one it sent */
    uint8_t rs[32];
    bool has_rs = far__noise_hs_remote_static(hs, rs);
    if (has_rs && memcmp(rs, peer_pub, 32) != 0)
        die("the remote static key is not dissononce's");
    if (recv_frame(buf, &n) != 'X' || n != hl || memcmp(buf, h, hl) != 0)
        die("the handshake hashes differ");

    /* 100 messages each way: farcall's random payload, dissononce's answer
     * (the plaintext reversed, then the round) */
    size_t bytes = 0;
    for (uint32_t r = 0; r < ROUNDS; r++) {
        size_t len = randombytes_uniform(1200);
        randombytes_buf(payload, len);
        if ((e = far__noise_seal(&tx, r, NULL, 0, payload, len, msg)) != FAR_OK)
            die("seal %u: %s", r, far_errname(e));
        send_frame('T', msg, len + FAR__NOISE_TAGLEN);
        char kind = recv_frame(buf, &n);
        if (kind == 'F') {
            buf[n < sizeof buf ? n : sizeof buf - 1] = '\0';
            die("dissononce: %s", (char *)buf);
        }
        if (kind != 'T' || n != len + 4 + FAR__NOISE_TAGLEN)
            die("round %u: answer of %zu bytes for %zu", r, n, len);
        uint8_t back[FRAME_MAX];
        if ((e = far__noise_open(&rx, r, NULL, 0, buf, n, back)) != FAR_OK)
            die("open of dissononce's message %u: %s", r, far_errname(e));
        for (size_t i = 0; i < len; i++)
            if (back[i] != payload[len - 1 - i])
                die("round %u: dissononce decrypted something else", r);
        uint8_t rb[4] = {(uint8_t)(r >> 24), (uint8_t)(r >> 16), (uint8_t)(r >> 8), (uint8_t)r};
        if (memcmp(back + len, rb, 4) != 0)
            die("round %u: wrong round number", r);
        bytes += len;
    }
    if (recv_frame(buf, &n) != 'D')
        die("no end from dissononce");
    far__noise_cs_wipe(&tx);
    far__noise_cs_wipe(&rx);
    far__noise_hs_free(hs);

    int st = reap();
    if (st != 0)
        die("dissononce exited with status %d", st);
    printf("ok: %s, farcall %s: handshake (%u messages), hashes agree, %d transport messages "
           "each way (%zu bytes from farcall)%s\n",
           protocol, argv[4], m, ROUNDS, bytes, has_rs ? ", remote static key checked" : "");
    return 0;
}
