/* fileserver: serves the files of one directory by bulk transfer
 * (farcall/bulk.h) -- RPC2's SFTP role.  `far get` and `far put` are its
 * clients.
 *
 *   fileserver_server ROOT [ADDR]
 *
 * Nothing outside ROOT is served: a path must be relative, with no ".."
 * component, and is opened beneath ROOT by the kernel (openat2
 * RESOLVE_BENEATH), so no symbolic link leads out either.  A file stored
 * (FS_PUT) is received under a temporary name beside it and renamed when
 * complete and checked; its directory must exist. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <farcall/bulk.h>

#include "common/example_server.h"
#include "fileserver.h"

static far_bulk_server *bulk;
static int root_fd = -1;

/* Opens `path` beneath the root: a relative path with no "..", resolved by
 * the kernel without leaving the root (symbolic links included).  -1 with
 * errno (EXDEV: it would leave the root). */
static int open_beneath(const char *path, int flags)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
}

/* FS_DENIED's cases, before anything is opened: absolute, empty, "..". */
static bool path_ok(const char *p)
{
    if (!p[0] || p[0] == '/')
        return false;
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return false;
        s += n + (e ? 1 : 0);
    }
    return true;
}

static far_err reply(far_svc_req *req, fs_res *res, fs_stat st, uint64_t size, const char *why)
{
    res->stat = st;
    res->size = size;
    size_t n = strlen(why) + 1;
    res->why = far_arena_alloc(far_svc_req_arena(req), n);
    if (!res->why)
        return FAR_ESYSTEM_ERR;
    memcpy(res->why, why, n);
    if (st != FS_OK)
        fprintf(stderr, "fileserver: %s: %s\n", far_svc_req_peer(req), why);
    return FAR_OK;
}

static fs_stat errno_stat(int e)
{
    return e == ENOENT || e == ENOTDIR ? FS_NOENT : e == EXDEV || e == ELOOP ? FS_DENIED : FS_IO;
}

/* Runs the transfer d bound to req, waits for it. */
static far_err run(far_svc_req *req, fs_res *res, const far_bulk_desc *d, const char *path)
{
    far_bulk *t;
    far_err rc = far_bulk_start(bulk, req, d, &t);
    if (rc != FAR_OK)
        return reply(req, res, FS_IO, 0, far_last_error());
    rc = far_bulk_wait(t, UINT32_MAX);
    uint64_t done, total;
    far_bulk_progress(t, &done, &total);
    far_bulk_destroy(t);
    char why[300];
    if (rc != FAR_OK) {
        snprintf(why, sizeof why, "%s: transfer failed: %s", path, far_strerror(rc));
        return reply(req, res, FS_BULK, done, why);
    }
    printf("fileserver: %s %s (%llu bytes) %s\n", d->dir == FAR_BULK_DIR_FETCH ? "sent" : "stored",
           path, (unsigned long long)total, far_svc_req_peer(req));
    fflush(stdout);
    return reply(req, res, FS_OK, total, "");
}

static far_err fs_get(far_svc_req *req, const fs_path *path, fs_res *res)
{
    if (!path_ok(*path))
        return reply(req, res, FS_DENIED, 0, "absolute paths and '..' are refused");
    int fd = open_beneath(*path, O_RDONLY);
    if (fd < 0) {
        char why[300];
        snprintf(why, sizeof why, "%s: %s", *path,
                 errno == EXDEV ? "leads outside the served directory" : strerror(errno));
        return reply(req, res, errno_stat(errno), 0, why);
    }
    far_bulk_desc d = {.dir = FAR_BULK_DIR_FETCH, .kind = FAR_BULK_FD, .fd = fd};
    far_err rc = run(req, res, &d, *path);
    close(fd);
    return rc;
}

static far_err fs_put(far_svc_req *req, const fs_path *path, fs_res *res)
{
    if (!path_ok(*path))
        return reply(req, res, FS_DENIED, 0, "absolute paths and '..' are refused");
    /* the directory, opened beneath the root; the file's name in it must not
     * be a symbolic link (the rename would replace the link, but say so) */
    char *dir = strdup(*path);
    if (!dir)
        return FAR_ESYSTEM_ERR;
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    if (slash)
        *slash = '\0';
    far_err rc = FAR_OK;
    char why[300];
    int dfd = slash ? open_beneath(dir, O_RDONLY | O_DIRECTORY) : dup(root_fd);
    if (dfd < 0 || !base[0] || !strcmp(base, ".")) {
        snprintf(why, sizeof why, "%s: %s", *path,
                 dfd < 0 && errno == EXDEV ? "leads outside the served directory"
                 : dfd < 0                 ? strerror(errno)
                                           : "not a file name");
        rc = reply(req, res, dfd < 0 ? errno_stat(errno) : FS_DENIED, 0, why);
        goto out;
    }
    struct stat st;
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(why, sizeof why, "%s: exists and is not a regular file", *path);
        rc = reply(req, res, FS_DENIED, 0, why);
        goto out;
    }
    /* the directory's real name (it is beneath the root: openat2 said so) */
    char proc[64], real[4096];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", dfd);
    ssize_t n = readlink(proc, real, sizeof real - 1);
    if (n <= 0 || (size_t)n + strlen(base) + 2 > sizeof real) {
        rc = reply(req, res, FS_IO, 0, "the directory's name is unknown");
        goto out;
    }
    real[n] = '\0';
    strcat(real, "/");
    strcat(real, base);
    far_bulk_desc d = {.dir = FAR_BULK_DIR_STORE, .kind = FAR_BULK_PATH, .path = real};
    rc = run(req, res, &d, *path);
out:
    if (dfd >= 0)
        close(dfd);
    free(dir);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fileserver_server ROOT [ADDR]\n");
        return 2;
    }
    root_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) {
        fprintf(stderr, "fileserver_server: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    static const fileserver_prog_1_impl impl = {.fs_get = fs_get, .fs_put = fs_put};
    if (!example_server_create() ||
        far_server_add_program(example_server, fileserver_prog_1_program(), &impl) != FAR_OK ||
        far_bulk_server_create(&bulk, example_server, NULL) != FAR_OK)
        return 1;
    int rc = example_serve("fileserver_server", argc - 1, argv + 1);
    far_bulk_server_destroy(bulk);
    close(root_fd);
    return rc;
}
