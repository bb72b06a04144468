/* etcd's documented JSON API (the gRPC gateway of etcd 3.4+, paths /v3/...)
 * over libcurl, parsed with jansson.  The traps (shared/research/next.md
 * §5): keys and values are base64; every int64 is a JSON string; proto3
 * JSON leaves out fields with default values (a PUT event has no "type",
 * a keepalive of a lost lease has no "TTL"); a watch is one long response
 * of newline-separated JSON objects.  Each request goes to the member in
 * use; a member that does not answer is left for the next one. */
#include "cluster/cluster.h"

#include <curl/curl.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ------------------------------------------------------------ base64 (RFC 4648) */

static const char b64c[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_enc(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        out[o++] = b64c[v >> 18 & 63];
        out[o++] = b64c[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64c[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64c[v & 63] : '=';
    }
    out[o] = 0;
    return out;
}

/* Decodes base64 text into a C string (NULL if malformed or holds a NUL). */
static char *b64_dec(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = malloc(n / 4 * 3 + 4);
    if (!out)
        return NULL;
    uint32_t v = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        const char *c = strchr(b64c, s[i]);
        if (!c || !s[i]) {
            free(out);
            return NULL;
        }
        v = v << 6 | (uint32_t)(c - b64c);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            char ch = (char)(v >> bits & 0xff);
            if (!ch) {
                free(out);
                return NULL;
            }
            out[o++] = ch;
        }
    }
    out[o] = 0;
    return out;
}

/* A range end covering every key that starts with `prefix`: the prefix with
 * its last byte plus one (etcd's clientv3.GetPrefixRangeEnd). */
static char *prefix_end(const char *prefix)
{
    char *e = strdup(prefix);
    if (!e)
        return NULL;
    size_t n = strlen(e);
    while (n > 0 && (unsigned char)e[n - 1] == 0xff)
        e[--n] = 0;
    if (n > 0)
        e[n - 1] = (char)((unsigned char)e[n - 1] + 1);
    return e;
}

/* an int64 as etcd writes it: a string ("123"), or absent (0) */
static int64_t jint(json_t *o, const char *field)
{
    json_t *v = json_object_get(o, field);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    return 0;
}

/* ------------------------------------------------------------ members */

far_err far__etcd_init(far__etcd *e, const char *endpoints)
{
    memset(e, 0, sizeof *e);
    pthread_once(&curl_once, curl_init_once);
    if (!endpoints || !*endpoints)
        endpoints = getenv("FARCALL_ETCD");
    if (!endpoints || !*endpoints)
        endpoints = FAR__ETCD_DEFAULT;
    const char *p = endpoints;
    while (*p) {
        size_t l = strcspn(p, ",");
        if (l > 0) {
            if (e->n == FAR__ETCD_MAX_EPS || l > 100) {
                far__set_last_error("etcd endpoints \"%.80s\": more than %d, or one too long",
                                    endpoints, FAR__ETCD_MAX_EPS);
                return FAR_EADDR;
            }
            for (size_t i = 0; i < l; i++)
                if (isspace((unsigned char)p[i]) || p[i] == '"') {
                    far__set_last_error("etcd endpoint \"%.*s\": malformed", (int)l, p);
                    return FAR_EADDR;
                }
            bool scheme =
                l > 7 && (strncmp(p, "http://", 7) == 0 || strncmp(p, "https://", 8) == 0);
            snprintf(e->eps[e->n++], sizeof e->eps[0], "%s%.*s", scheme ? "" : "http://", (int)l,
                     p);
        }
        p += l;
        if (*p == ',')
            p++;
    }
    if (!e->n) {
        far__set_last_error("etcd endpoints \"%.80s\": none", endpoints);
        return FAR_EADDR;
    }
    return FAR_OK;
}

void far__etcd_fini(far__etcd *e)
{
    if (e->curl)
        curl_easy_cleanup(e->curl);
    e->curl = NULL;
}

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static size_t on_body(char *p, size_t sz, size_t nm, void *u)
{
    buf *b = u;
    size_t n = sz * nm;
    if (b->n + n + 1 > (4u << 20))
        return 0; /* an answer this large is not one of ours */
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *q = realloc(b->p, cap);
        if (!q)
            return 0;
        b->p = q, b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

/* POSTs `body` to `path` of the member in use, moving on to the next when one
 * does not answer (each once).  FAR_OK with *resp (an object, which may hold
 * "error"); FAR_ENOBINDER if none answered. */
static far_err post(far__etcd *e, const char *path, json_t *body, json_t **resp)
{
    *resp = NULL;
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text)
        return FAR_ENOMEM;
    if (!e->curl && !(e->curl = curl_easy_init())) {
        free(text);
        return FAR_ENOMEM;
    }
    CURL *h = e->curl;
    far_err rc = FAR_ENOBINDER;
    char why[256] = "";
    for (size_t i = 0; i < e->n && rc == FAR_ENOBINDER; i++) {
        size_t at = (e->cur + i) % e->n;
        char url[256];
        snprintf(url, sizeof url, "%s%s", e->eps[at], path);
        buf b = {0};
        struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)FAR__ETCD_TIMEOUT_MS);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)FAR__ETCD_TIMEOUT_MS / 2);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never through an HTTP proxy */
        CURLcode cc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hdr);
        json_t *j = NULL;
        if (cc == CURLE_OK && b.p)
            j = json_loads(b.p, 0, NULL);
        /* 503 etc. with no etcd error object: a member without a leader */
        if (cc != CURLE_OK || !json_is_object(j) ||
            (status >= 500 && !json_object_get(j, "error"))) {
            snprintf(why, sizeof why, "%s: %s", e->eps[at],
                     cc != CURLE_OK ? curl_easy_strerror(cc) : "no JSON answer");
            json_decref(j);
            free(b.p);
            continue;
        }
        /* a member that lost its quorum answers with an error: another may not */
        json_t *err = json_object_get(j, "error");
        if (json_is_string(err) && (strstr(json_string_value(err), "no leader") ||
                                    strstr(json_string_value(err), "timed out") ||
                                    strstr(json_string_value(err), "stopped"))) {
            snprintf(why, sizeof why, "%s: %s", e->eps[at], json_string_value(err));
            json_decref(j);
            free(b.p);
            continue;
        }
        free(b.p);
        e->cur = at;
        *resp = j;
        rc = FAR_OK;
    }
    if (rc == FAR_ENOBINDER) {
        e->cur = (e->cur + 1) % e->n;
        far__set_last_error("no etcd member answered (last: %s)", why);
    }
    free(text);
    return rc;
}

/* The error an answer holds: FAR_OK if none, FAR_ENOTREG for a lease not
 * found, else FAR_EPROTO (far_last_error says it). */
static far_err answer_err(json_t *j, const char *what)
{
    json_t *err = json_object_get(j, "error");
    if (!err)
        return FAR_OK;
    const char *s = json_is_string(err) ? json_string_value(err) : "?";
    far__set_last_error("etcd %s: %s", what, s);
    return strstr(s, "lease not found") ? FAR_ENOTREG : FAR_EPROTO;
}

/* One call of etcd's API: POSTs `body` (taken: freed here; NULL, a body
 * that could not be made: FAR_ENOMEM) and checks the answer for an error
 * (answer_err, `what` naming the call).  *r: the answer or NULL, for the
 * caller to json_decref either way. */
static far_err api(far__etcd *e, const char *path, json_t *body, const char *what, json_t **r)
{
    *r = NULL;
    far_err rc = body ? post(e, path, body, r) : FAR_ENOMEM;
    json_decref(body);
    return rc == FAR_OK ? answer_err(*r, what) : rc;
}

far_err far__etcd_grant(far__etcd *e, uint32_t ttl_s, int64_t *id)
{
    json_t *r;
    far_err rc =
        api(e, "/v3/lease/grant", json_pack("{s:I}", "TTL", (json_int_t)ttl_s), "lease grant", &r);
    if (rc == FAR_OK) {
        *id = jint(r, "ID");
        if (!*id) {
            far__set_last_error("etcd lease grant: no ID in the answer");
            rc = FAR_EPROTO;
        }
    }
    json_decref(r);
    return rc;
}

far_err far__etcd_keepalive(far__etcd *e, int64_t id, int64_t *ttl)
{
    char ids[32];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    json_t *r;
    far_err rc =
        api(e, "/v3/lease/keepalive", json_pack("{s:s}", "ID", ids), "lease keepalive", &r);
    if (rc == FAR_OK) {
        /* {"result":{"header":..,"ID":..,"TTL":"3"}}; no TTL: lost */
        json_t *res = json_object_get(r, "result");
        *ttl = res ? jint(res, "TTL") : 0;
    } else if (rc == FAR_ENOTREG) {
        *ttl = 0;
        rc = FAR_OK;
    }
    json_decref(r);
    return rc;
}

far_err far__etcd_put(far__etcd *e, const char *key, const char *val, int64_t lease)
{
    char *k = b64_enc(key), *v = b64_enc(val);
    char ls[32];
    snprintf(ls, sizeof ls, "%" PRId64, lease);
    json_t *body = k && v ? json_pack("{s:s,s:s,s:s}", "key", k, "value", v, "lease", ls) : NULL,
           *r;
    free(k);
    free(v);
    far_err rc = api(e, "/v3/kv/put", body, "put", &r);
    json_decref(r);
    return rc;
}

far_err far__etcd_delete(far__etcd *e, const char *key)
{
    char *k = b64_enc(key);
    json_t *body = k ? json_pack("{s:s}", "key", k) : NULL, *r;
    free(k);
    far_err rc = api(e, "/v3/kv/deleterange", body, "delete", &r);
    json_decref(r);
    return rc;
}

far_err far__etcd_revoke(far__etcd *e, int64_t id)
{
    char ids[32];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    json_t *r;
    far_err rc = api(e, "/v3/lease/revoke", json_pack("{s:s}", "ID", ids), "lease revoke", &r);
    json_decref(r);
    return rc == FAR_ENOTREG ? FAR_OK : rc;
}

void far__etcd_kvs_free(far__etcd_kv *kvs, size_t n)
{
    for (size_t i = 0; kvs && i < n; i++) {
        free(kvs[i].key);
        free(kvs[i].val);
    }
    free(kvs);
}

/* A kv object of an answer into *kv (FAR_EPROTO if malformed). */
static far_err decode_kv(json_t *o, far__etcd_kv *kv)
{
    json_t *k = json_object_get(o, "key"), *v = json_object_get(o, "value");
    kv->key = json_is_string(k) ? b64_dec(json_string_value(k)) : NULL;
    /* an empty value is left out (proto3) */
    kv->val = json_is_string(v) ? b64_dec(json_string_value(v)) : strdup("");
    kv->lease = jint(o, "lease");
    if (!kv->key || !kv->val) {
        free(kv->key);
        free(kv->val);
        kv->key = kv->val = NULL;
        return FAR_EPROTO;
    }
    return FAR_OK;
}

far_err far__etcd_range(far__etcd *e, const char *prefix, far__etcd_kv **kvs, size_t *n,
                        int64_t *rev)
{
    *kvs = NULL;
    *n = 0;
    char *end = prefix_end(prefix), *k = b64_enc(prefix), *ke = end ? b64_enc(end) : NULL;
    free(end);
    /* serializable: answered by the member itself, also while the cluster
     * elects a leader (a member just died); the watch that follows brings
     * any later change */
    json_t *body = k && ke
                       ? json_pack("{s:s,s:s,s:b}", "key", k, "range_end", ke, "serializable", 1)
                       : NULL,
           *r;
    free(k);
    free(ke);
    far_err rc = api(e, "/v3/kv/range", body, "range", &r);
    if (rc == FAR_OK) {
        *rev = jint(json_object_get(r, "header"), "revision");
        json_t *arr = json_object_get(r, "kvs"); /* absent when there are none */
        size_t m = json_is_array(arr) ? json_array_size(arr) : 0;
        *kvs = calloc(m ? m : 1, sizeof **kvs);
        if (!*kvs)
            rc = FAR_ENOMEM;
        for (size_t i = 0; rc == FAR_OK && i < m; i++)
            if (decode_kv(json_array_get(arr, i), &(*kvs)[*n]) == FAR_OK)
                (*n)++;
    }
    json_decref(r);
    return rc;
}

/* ------------------------------------------------------------ watch */

typedef struct watch_state {
    buf line;
    const far__etcd_watch_cbs *cbs;
    far_err end; /* set when etcd cancels the watch */
    bool created;
} watch_state;

static void watch_message(watch_state *w, const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    json_t *res = json_object_get(j, "result");
    if (!res) {
        if (j && json_object_get(j, "error"))
            w->end = FAR_ECANCELED;
        json_decref(j);
        return;
    }
    if (json_is_true(json_object_get(res, "created")))
        w->created = true;
    if (json_is_true(json_object_get(res, "canceled")) || jint(res, "compact_revision") > 0) {
        w->end = FAR_ECANCELED; /* compacted past our revision: list again */
        json_decref(j);
        return;
    }
    json_t *evs = json_object_get(res, "events");
    size_t m = json_is_array(evs) ? json_array_size(evs) : 0;
    for (size_t i = 0; i < m; i++) {
        json_t *ev = json_array_get(evs, i);
        json_t *type = json_object_get(ev, "type"); /* absent: PUT */
        bool del = json_is_string(type) && strcmp(json_string_value(type), "DELETE") == 0;
        far__etcd_kv kv;
        if (decode_kv(json_object_get(ev, "kv"), &kv) != FAR_OK)
            continue;
        w->cbs->on_event(w->cbs->user, del, kv.key, del ? "" : kv.val);
        free(kv.key);
        free(kv.val);
    }
    if (m && w->cbs->on_batch)
        w->cbs->on_batch(w->cbs->user);
    json_decref(j);
}

static size_t on_watch(char *p, size_t sz, size_t nm, void *u)
{
    watch_state *w = u;
    size_t n = sz * nm;
    if (on_body(p, sz, nm, &w->line) != n)
        return 0;
    /* one JSON object a line */
    char *s = w->line.p, *nl;
    while ((nl = memchr(s, '\n', w->line.n - (size_t)(s - w->line.p)))) {
        *nl = 0;
        if (nl > s)
            watch_message(w, s);
        s = nl + 1;
    }
    size_t left = w->line.n - (size_t)(s - w->line.p);
    memmove(w->line.p, s, left);
    w->line.n = left;
    w->line.p[left] = 0;
    /* a whole object with no newline yet is handled when it comes */
    return n;
}

far_err far__etcd_watch(far__etcd *e, const char *prefix, int64_t from,
                        const far__etcd_watch_cbs *cbs, _Atomic bool *stop, int wake_fd)
{
    char *end = prefix_end(prefix), *k = b64_enc(prefix), *ke = end ? b64_enc(end) : NULL;
    free(end);
    char revs[32];
    snprintf(revs, sizeof revs, "%" PRId64, from);
    json_t *body = k && ke ? json_pack("{s:{s:s,s:s,s:s}}", "create_request", "key", k, "range_end",
                                       ke, "start_revision", revs)
                           : NULL;
    free(k);
    free(ke);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return FAR_ENOMEM;
    CURLM *m = curl_multi_init();
    CURL *h = curl_easy_init();
    far_err rc = FAR_ENOMEM;
    if (!m || !h)
        goto out;
    watch_state w = {.cbs = cbs, .end = FAR_OK};
    char url[256];
    snprintf(url, sizeof url, "%s/v3/watch", e->eps[e->cur]);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_watch);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)FAR__ETCD_TIMEOUT_MS / 2);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    /* a member gone silent (no bytes, not even a closed connection) */
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 2L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 1L);
    curl_multi_add_handle(m, h);
    rc = FAR_ECONNLOST;
    for (;;) {
        int running = 0;
        curl_multi_perform(m, &running);
        if (atomic_load(stop)) {
            rc = FAR_OK;
            break;
        }
        if (w.end != FAR_OK) {
            rc = w.end;
            break;
        }
        if (!running) {
            int left;
            CURLMsg *msg = curl_multi_info_read(m, &left);
            if (msg && msg->msg == CURLMSG_DONE && msg->data.result != CURLE_OK) {
                far__set_last_error("etcd watch at %s: %s", e->eps[e->cur],
                                    curl_easy_strerror(msg->data.result));
                rc = w.created ? FAR_ECONNLOST : FAR_ENOBINDER;
            }
            break;
        }
        struct curl_waitfd wfd = {.fd = wake_fd, .events = CURL_WAIT_POLLIN};
        curl_multi_poll(m, wake_fd >= 0 ? &wfd : NULL, wake_fd >= 0 ? 1 : 0, 500, NULL);
    }
    curl_multi_remove_handle(m, h);
    curl_slist_free_all(hdr);
    free(w.line.p);
    if (rc == FAR_ECONNLOST || rc == FAR_ENOBINDER)
        e->cur = (e->cur + 1) % e->n; /* the next member, next time */
out:
    if (h)
        curl_easy_cleanup(h);
    if (m)
        curl_multi_cleanup(m);
    free(text);
    return rc;
}

/* ------------------------------------------------------------ names */

bool far__cluster_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

const char *far__cluster_default(void)
{
    const char *c = getenv("FARCALL_CLUSTER");
    return c && *c ? c : "default";
}

far_err far__cluster_name(const char **cluster, const char *what)
{
    if (!*cluster)
        *cluster = far__cluster_default();
    if (far__cluster_name_ok(*cluster))
        return FAR_OK;
    far__set_last_error("%.80s%scluster name \"%.64s\": not 1..64 of [A-Za-z0-9_.-]",
                        what ? what : "", what ? ": " : "", *cluster);
    return FAR_EADDR;
}

void far__cluster_key(char *out, size_t n, const char *cluster, uint32_t prog, uint32_t vers,
                      const char *netid, const char *uaddr)
{
    snprintf(out, n, FAR__CLUSTER_PREFIX "%s/prog/%" PRIu32 "/%" PRIu32 "/%s/%s", cluster, prog,
             vers, netid, uaddr);
}
