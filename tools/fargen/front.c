/* fargen — reading a .x file and running the C preprocessor on it, as
 * fargen (main.c) and fg_describe_file (fg_desc.h) both do, so a .x means
 * the same to both.  Errors are written into the caller's buffer, never
 * printed: the `far` tool uses this code as a library.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fargen.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

char *fg_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    fg_buf b = {0};
    char chunk[65536];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
        fg_buf_put(&b, chunk, r);
    bool bad = ferror(f) || b.failed;
    fclose(f);
    if (bad) {
        set_err(err, errlen, "%s: read error", path);
        fg_buf_free(&b);
        return NULL;
    }
    if (!b.data)
        fg_buf_put(&b, "", 0);
    if (b.failed) {
        set_err(err, errlen, "out of memory");
        fg_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.data;
}

/* A `%` line ending in a backslash continues on the next line (nis.x does
 * this).  cpp would splice the two and leave the second half as stray text,
 * which is why rpcgen rejects such files; we mark the backslash with \x01 so
 * cpp leaves it alone and the lexer joins the lines.  Returns the path of a
 * temporary copy to preprocess instead of the input, or NULL if the input
 * needs no such care (or on error, *failed set). */
static char *protect_continuations(const char *input, bool *failed, char *err, size_t errlen)
{
    size_t len;
    char *src = fg_read_file(input, &len, err, errlen);
    *failed = !src;
    if (!src)
        return NULL;
    bool need = false;
    for (size_t i = 0, ls = 0; i < len; i++)
        if (src[i] == '\n') {
            if (src[ls] == '%' && i > ls && src[i - 1] == '\\')
                need = true;
            ls = i + 1;
        }
    if (!need) {
        free(src);
        return NULL;
    }
    const char *t = getenv("TMPDIR");
    char *path = malloc(strlen(t && *t ? t : "/tmp") + 32);
    if (!path) {
        free(src);
        set_err(err, errlen, "out of memory");
        *failed = true;
        return NULL;
    }
    sprintf(path, "%s/fargen.XXXXXX", t && *t ? t : "/tmp");
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        set_err(err, errlen, "temporary file: %s", strerror(errno));
        if (fd >= 0)
            close(fd), unlink(path);
        free(path), free(src);
        *failed = true;
        return NULL;
    }
    fprintf(f, "#line 1 \"%s\"\n", input);
    bool pct = len > 0 && src[0] == '%'; /* in a % line or its continuation */
    for (size_t i = 0; i < len; i++) {
        if (pct && src[i] == '\\' && i + 1 < len && src[i + 1] == '\n') {
            fputs("\\\x01\n", f);
            i++; /* the continuation line stays a % line */
            continue;
        }
        fputc(src[i], f);
        if (src[i] == '\n')
            pct = i + 1 < len && src[i + 1] == '%';
    }
    if (fclose(f) != 0) {
        set_err(err, errlen, "temporary file: %s", strerror(errno));
        unlink(path), free(path), free(src);
        *failed = true;
        return NULL;
    }
    free(src);
    return path;
}

char *fg_preprocess(const fg_cpp *c, const char *input, const char *define, size_t *len, char *err,
                    size_t errlen)
{
    const char *cpp = c->cpp ? c->cpp : "cpp";
    bool failed;
    char *tmp = protect_continuations(input, &failed, err, errlen);
    if (failed)
        return NULL;
    /* fds: cpp's output; efd: the errno of a failed exec (closed on exec) */
    int fds[2], efd[2];
    if (pipe(fds) < 0) {
        set_err(err, errlen, "pipe: %s", strerror(errno));
        goto fail_tmp;
    }
    if (pipe(efd) < 0) {
        set_err(err, errlen, "pipe: %s", strerror(errno));
        close(fds[0]), close(fds[1]);
        goto fail_tmp;
    }
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(efd[0], F_SETFD, FD_CLOEXEC);
    fcntl(efd[1], F_SETFD, FD_CLOEXEC);
    const char *slash = strrchr(input, '/');
    char *dir = slash ? strndup(input, (size_t)(slash - input) + (slash == input)) : strdup(".");
    int n = 0;
    const char **argv = calloc((size_t)c->nargs + 9, sizeof *argv);
    char *defopt = malloc(strlen(define) + 3);
    char *incopt = dir ? malloc(strlen(dir) + 3) : NULL;
    if (!argv || !defopt || !incopt) {
        set_err(err, errlen, "out of memory");
        free(argv), free(defopt), free(incopt), free(dir);
        close(fds[0]), close(fds[1]), close(efd[0]), close(efd[1]);
        goto fail_tmp;
    }
    sprintf(defopt, "-D%s", define);
    sprintf(incopt, "-I%s", dir);
    argv[n++] = cpp;
    argv[n++] = "-C"; /* as rpcgen: comments of % lines reach the outputs */
    argv[n++] = defopt;
    argv[n++] = incopt;
    for (int i = 0; i < c->nargs; i++)
        argv[n++] = c->args[i];
    argv[n++] = tmp ? tmp : input;
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        close(efd[0]);
        execvp(argv[0], (char *const *)argv);
        int e = errno;
        ssize_t w = write(efd[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    int fork_errno = errno;
    close(fds[1]);
    close(efd[1]);
    free(argv), free(defopt), free(incopt), free(dir);
    if (pid < 0) {
        set_err(err, errlen, "fork: %s", strerror(fork_errno));
        close(fds[0]), close(efd[0]);
        goto fail_tmp;
    }
    fg_buf b = {0};
    char chunk[65536];
    ssize_t r;
    while ((r = read(fds[0], chunk, sizeof chunk)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        fg_buf_put(&b, chunk, (size_t)r);
    }
    close(fds[0]);
    int exec_errno = 0;
    while ((r = read(efd[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR)
        ;
    if (r != (ssize_t)sizeof exec_errno)
        exec_errno = 0;
    close(efd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (tmp)
        unlink(tmp);
    free(tmp);
    if (exec_errno) {
        set_err(err, errlen, "%s: cannot run the preprocessor %s: %s", input, cpp,
                strerror(exec_errno));
        fg_buf_free(&b);
        return NULL;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || b.failed) {
        set_err(err, errlen, "%s: the preprocessor (%s) failed", input, cpp);
        fg_buf_free(&b);
        return NULL;
    }
    if (!b.data)
        fg_buf_put(&b, "", 0);
    if (b.failed) {
        set_err(err, errlen, "out of memory");
        fg_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.data;

fail_tmp:
    if (tmp)
        unlink(tmp);
    free(tmp);
    return NULL;
}
