/*
 * hijack's native relay: copies bytes between two connected stream sockets (TCP or unix)
 * both ways, on Node's own event loop, with no JavaScript per chunk.
 *
 * Why it exists: a JS splice moves every chunk through a freshly allocated Buffer and the
 * stream machinery; a proxy carrying a bulk stream spends most of its CPU there. This file
 * reads into one buffer shared by every relay (the loop runs one callback at a time) and
 * writes straight to the other socket, as Go's io.Copy and HAProxy do.
 *
 * How it shares the sockets with Node: the TypeScript side (src/stream/splice-native.ts)
 * stops the sockets' libuv handles from reading and waits until nothing is queued for
 * writing, so libuv no longer watches their descriptors. This file then watches them with
 * uv_poll handles of its own. Until the relay ends or is stopped, JS must not read, write,
 * shut down or close those sockets; the TS side guards every such path. Descriptors are
 * never closed here: after the end JS destroys the sockets as usual.
 *
 * Per direction (src -> dst): read up to 64 KiB, write it all; when the destination takes
 * only part, the rest is kept in a buffer of that direction, reading src stops and the
 * relay waits for dst to be writable (backpressure: at most one read's worth held per
 * direction). EOF on src, once everything before it was written, becomes shutdown(dst,
 * SHUT_WR): a half-close carried across. The relay ends when both directions carried
 * their EOF, or at the first error.
 *
 * JavaScript surface (module exports):
 *   platform                         "linux" where compiled in, else "unsupported"
 *   start(fdA, fdB, onEnd, ref) -> handle  or a negative errno (nothing started); with
 *       ref false the relay does not keep the event loop alive (unref()ed sockets)
 *       onEnd(errno, aToB, bToA, syscall): errno 0 for the clean end, else -errno and the
 *       failing call ("read", "write", "shutdown"). Called once, never after stop().
 *   stop(handle)                       ends the relay now without calling onEnd;
 *                                      idempotent. The descriptors are free for JS again.
 *   shutdownWrite(handle, side)        half-closes side 0 (a) or 1 (b) for writing once its
 *                                      queued bytes are out; data still arriving for that
 *                                      side then ends the relay with EPIPE.
 *   counts(handle, out Float64Array(3)) -> out = [aToB, bToA, ms since the last byte moved]
 */
#include "napi_util.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <errno.h>
#include <sys/socket.h>
#include <uv.h>
#define HIJACK_PLATFORM "linux"
#else
#define HIJACK_PLATFORM "unsupported"
#endif

#ifdef __linux__

/* One read's worth; the shared buffer and the most a stalled direction holds. */
#define CHUNK (64 * 1024)
/* Reads per wake-up before yielding to the rest of the loop. */
#define READS_PER_WAKE 4

static char shared_buf[CHUNK];

typedef struct relay relay_t;

typedef struct {
  relay_t *r;
  int fd;
  int events; /* what the poll handle currently watches (UV_READABLE | UV_WRITABLE) */
  uv_poll_t poll;
} end_t;

typedef struct {
  char *pend; /* bytes read but not yet taken by dst */
  size_t plen;
  size_t poff;
  int eof;      /* src gave EOF */
  int shut;     /* dst was shut down for writing */
  int shut_req; /* JS asked for dst's write half to close */
} dir_t;

struct relay {
  napi_env env;
  napi_ref on_end;
  napi_async_context actx;
  end_t end[2];
  dir_t dir[2]; /* dir[0]: a -> b, dir[1]: b -> a */
  double bytes[2];
  uint64_t last; /* uv_now() of the last byte moved */
  int done;
  int refs; /* the JS handle and the two poll handles */
};

static void release(relay_t *r) {
  if (--r->refs > 0) return;
  for (int i = 0; i < 2; i++) free(r->dir[i].pend);
  free(r);
}

static void on_poll_closed(uv_handle_t *h) { release(((end_t *)h->data)->r); }

/* Stops watching both descriptors at once (synchronously; the handles' memory goes in
 * their close callbacks). Returns 0 if it had stopped already. */
static int close_polls(relay_t *r) {
  if (r->done) return 0;
  r->done = 1;
  for (int i = 0; i < 2; i++) uv_close((uv_handle_t *)&r->end[i].poll, on_poll_closed);
  return 1;
}

/* The env is going away: its references are freed with it. */
static void cleanup_hook(void *arg) { close_polls(arg); }

/* Stops the relay for good: no more watching, no cleanup hook left behind. */
static void halt(relay_t *r) {
  if (close_polls(r)) napi_remove_env_cleanup_hook(r->env, cleanup_hook, r);
}

/* Ends the relay and tells JS: err 0 for a clean end, else a positive errno. */
static void finish(relay_t *r, int err, const char *syscall) {
  if (r->done) return;
  napi_env env = r->env;
  napi_ref ref = r->on_end;
  napi_async_context actx = r->actx;
  double ab = r->bytes[0], ba = r->bytes[1];
  r->on_end = NULL;
  r->actx = NULL;
  halt(r);
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, argv[4], result;
  if (napi_get_reference_value(env, ref, &fn) == napi_ok && fn != NULL &&
      napi_get_global(env, &recv) == napi_ok && /* make_callback wants an object */
      napi_create_int32(env, -err, &argv[0]) == napi_ok &&
      napi_create_double(env, ab, &argv[1]) == napi_ok &&
      napi_create_double(env, ba, &argv[2]) == napi_ok &&
      napi_create_string_utf8(env, syscall ? syscall : "", NAPI_AUTO_LENGTH, &argv[3]) ==
          napi_ok) {
    if (napi_make_callback(env, actx, recv, fn, 4, argv, &result) == napi_pending_exception) {
      napi_value exc;
      if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
    }
  }
  napi_delete_reference(env, ref);
  napi_async_destroy(env, actx);
  napi_close_handle_scope(env, scope);
}

static void on_poll(uv_poll_t *h, int status, int events);

/* Watches what each end needs: readable while its outgoing direction can take more,
 * writable while bytes wait for it. */
static void update(relay_t *r) {
  for (int i = 0; i < 2; i++) {
    end_t *e = &r->end[i];
    dir_t *out = &r->dir[i];     /* i is the source */
    dir_t *in = &r->dir[1 - i];  /* i is the destination */
    int want = 0;
    if (!out->eof && out->plen == 0) want |= UV_READABLE;
    if (in->plen > 0 || (in->shut_req && !in->shut)) want |= UV_WRITABLE;
    if (want != e->events) {
      e->events = want;
      if (want) uv_poll_start(&e->poll, want, on_poll);
      else uv_poll_stop(&e->poll);
    }
  }
}

static int both_done(relay_t *r) {
  return r->dir[0].shut && r->dir[1].shut && r->dir[0].eof && r->dir[1].eof;
}

/* Sends d's held bytes to dst; 0 when all went, 1 when dst is full, -errno on failure. */
static int flush(dir_t *d, int dst) {
  while (d->plen > 0) {
    ssize_t n = send(dst, d->pend + d->poff, d->plen, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 1;
      return -errno;
    }
    d->poff += (size_t)n;
    d->plen -= (size_t)n;
  }
  free(d->pend);
  d->pend = NULL;
  d->poff = 0;
  return 0;
}

/* After a direction's bytes are all out: carry its EOF (or JS's half-close) across. */
static int maybe_shut(dir_t *d, int dst) {
  if (d->shut || d->plen > 0 || !(d->eof || d->shut_req)) return 0;
  d->shut = 1;
  if (shutdown(dst, SHUT_WR) != 0 && errno != ENOTCONN) return -errno;
  return 0;
}

/* Moves what src has to dst until src is empty, dst is full or the budget is spent. */
static int pump(relay_t *r, int i, const char **syscall) {
  dir_t *d = &r->dir[i];
  int src = r->end[i].fd, dst = r->end[1 - i].fd;
  for (int k = 0; k < READS_PER_WAKE && !d->eof && d->plen == 0; k++) {
    ssize_t n = recv(src, shared_buf, CHUNK, 0);
    if (n < 0) {
      if (errno == EINTR) { k--; continue; }
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      *syscall = "read";
      return -errno;
    }
    if (n == 0) {
      d->eof = 1;
      break;
    }
    if (d->shut) {
      /* JS half-closed dst (a shutdown), and src still sends: nowhere to put it. */
      *syscall = "write";
      return -EPIPE;
    }
    r->bytes[i] += (double)n;
    r->last = uv_now(uv_handle_get_loop((uv_handle_t *)&r->end[i].poll));
    size_t off = 0;
    while (off < (size_t)n) {
      ssize_t w = send(dst, shared_buf + off, (size_t)n - off, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        *syscall = "write";
        return -errno;
      }
      off += (size_t)w;
    }
    if (off < (size_t)n) {
      d->plen = (size_t)n - off;
      d->poff = 0;
      d->pend = malloc(d->plen);
      if (!d->pend) return -ENOMEM;
      memcpy(d->pend, shared_buf + off, d->plen);
    }
    if ((size_t)n < CHUNK) break; /* a short read: src is most likely empty */
  }
  return 0;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  end_t *e = h->data;
  relay_t *r = e->r;
  int i = (int)(e - r->end);
  const char *syscall = "read";
  int err = 0;
  if (r->done) return;
  if (status < 0) {
    /* POLLERR: the socket's pending error says what happened (a reset, mostly). */
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    e->events = 0; /* libuv stopped this handle */
    if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr != 0) {
      finish(r, soerr, "read");
      return;
    }
    events = UV_READABLE | UV_WRITABLE;
  }
  if (events & UV_WRITABLE) {
    dir_t *in = &r->dir[1 - i];
    if (in->plen > 0) {
      int f = flush(in, e->fd);
      if (f < 0) { err = f; syscall = "write"; goto out; }
      /* Drained: read on at once, as a blocking copy loop would, instead of waiting a
       * loop turn for the source's readiness to be reported again. */
      if (f == 0 && !in->eof && (err = pump(r, 1 - i, &syscall)) < 0) goto out;
    }
    if ((err = maybe_shut(in, e->fd)) < 0) { syscall = "shutdown"; goto out; }
  }
  if (events & (UV_READABLE | UV_DISCONNECT)) {
    dir_t *d = &r->dir[i];
    if ((err = pump(r, i, &syscall)) < 0) goto out;
    if ((err = maybe_shut(d, r->end[1 - i].fd)) < 0) { syscall = "shutdown"; goto out; }
  }
out:
  if (err < 0) {
    finish(r, -err, syscall);
    return;
  }
  if (both_done(r)) {
    finish(r, 0, NULL);
    return;
  }
  update(r);
}

static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  relay_t *r = data;
  /* A running relay is unreachable from here while the TS side holds it; safe regardless. */
  halt(r);
  if (r->on_end) napi_delete_reference(env, r->on_end);
  if (r->actx) napi_async_destroy(env, r->actx);
  r->on_end = NULL;
  r->actx = NULL;
  release(r);
}

static relay_t *arg_relay(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], name, handle;
  int32_t fds[2];
  bool ref = true;
  napi_valuetype t;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc >= 4 && napi_get_value_bool(env, argv[3], &ref) != napi_ok) ref = true;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fds[0]) != napi_ok ||
      napi_get_value_int32(env, argv[1], &fds[1]) != napi_ok ||
      napi_typeof(env, argv[2], &t) != napi_ok || t != napi_function || fds[0] < 0 ||
      fds[1] < 0 || fds[0] == fds[1])
    return throw_type(env, "start(fdA, fdB, onEnd)");
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  relay_t *r = calloc(1, sizeof *r);
  if (!r) return number(env, -ENOMEM);
  r->env = env;
  for (int i = 0; i < 2; i++) {
    int err = uv_poll_init(loop, &r->end[i].poll, fds[i]);
    if (err != 0) {
      /* libuv (or someone) still watches this descriptor: nothing started. */
      if (i == 1) {
        r->refs = 1;
        uv_close((uv_handle_t *)&r->end[0].poll, on_poll_closed);
      } else {
        free(r);
      }
      return number(env, err);
    }
    r->end[i].r = r;
    r->end[i].fd = fds[i];
    r->end[i].poll.data = &r->end[i];
    if (!ref) uv_unref((uv_handle_t *)&r->end[i].poll);
  }
  r->refs = 3;
  r->last = uv_now(loop);
  CHECK(napi_create_reference(env, argv[2], 1, &r->on_end));
  CHECK(napi_create_string_utf8(env, "hijack.relay", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &r->actx));
  CHECK(napi_create_external(env, r, handle_finalize, NULL, &handle));
  napi_add_env_cleanup_hook(env, cleanup_hook, r);
  update(r);
  return handle;
}

static napi_value js_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  relay_t *r = argc >= 1 ? arg_relay(env, argv[0]) : NULL;
  if (!r) return throw_type(env, "stop(handle)");
  halt(r);
  return NULL;
}

static napi_value js_shutdown_write(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t side;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  relay_t *r = argc >= 2 ? arg_relay(env, argv[0]) : NULL;
  if (!r || napi_get_value_int32(env, argv[1], &side) != napi_ok || side < 0 || side > 1)
    return throw_type(env, "shutdownWrite(handle, 0 | 1)");
  if (r->done) return NULL;
  /* side is the destination: the direction that writes to it is 1 - side. */
  dir_t *d = &r->dir[1 - side];
  d->shut_req = 1;
  int err = maybe_shut(d, r->end[side].fd);
  if (err < 0) {
    finish(r, -err, "shutdown");
    return NULL;
  }
  if (both_done(r)) finish(r, 0, NULL);
  else update(r);
  return NULL;
}

static napi_value js_counts(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  relay_t *r = argc >= 2 ? arg_relay(env, argv[0]) : NULL;
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value ab;
  if (!r || napi_get_typedarray_info(env, argv[1], &type, &length, &data, &ab, &offset) !=
                napi_ok ||
      type != napi_float64_array || length < 3)
    return throw_type(env, "counts(handle, Float64Array(3))");
  double *out = data;
  out[0] = r->bytes[0];
  out[1] = r->bytes[1];
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  uv_update_time(loop);
  out[2] = (double)(uv_now(loop) - r->last);
  return NULL;
}

#endif /* __linux__ */

static napi_value init(napi_env env, napi_value exports) {
  napi_value platform;
#ifdef __linux__
  napi_property_descriptor props[] = {
      {"start", NULL, js_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stop", NULL, js_stop, NULL, NULL, NULL, napi_enumerable, NULL},
      {"shutdownWrite", NULL, js_shutdown_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"counts", NULL, js_counts, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
#endif
  CHECK(napi_create_string_utf8(env, HIJACK_PLATFORM, NAPI_AUTO_LENGTH, &platform));
  CHECK(napi_set_named_property(env, exports, "platform", platform));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
