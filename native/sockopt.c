/*
 * hijack's native part: getsockopt(2) and setsockopt(2), nothing else.
 *
 * Every decision (which level and option, how to decode the bytes, which error to throw)
 * is made in TypeScript (src/socket/). This file only performs the system calls, so it
 * stays small enough to audit at a glance. Plain C against node_api.h (N-API version 8):
 * one build loads on every Node release from 20 on.
 *
 * JavaScript surface (module exports):
 *   platform                  "linux" where the calls are compiled in, else "unsupported"
 *   getsockopt(fd, level, name, buf) -> bytes the kernel filled (>= 0), or -errno
 *   setsockopt(fd, level, name, buf, len) -> 0, or -errno
 *   getsockoptInt(fd, level, name) -> the int value, or -errno - 2^32 (see below)
 *   setsockoptInt(fd, level, name, value) -> 0, or -errno
 *
 * Negative errno values are returned rather than thrown so that the TypeScript side can
 * build a HijackError with a stable code, and so the hot path never allocates an error.
 */
#include "napi_util.h"
#include <stdint.h>
#include <string.h>

#ifdef __linux__
#include <errno.h>
#include <sys/socket.h>
#define HIJACK_PLATFORM "linux"
#else
#define HIJACK_PLATFORM "unsupported"
#endif

/* getsockoptInt needs a value space for errors apart from every int the kernel may
 * return: an error is reported as -(errno) - 2^32, which no int can be. */
#define INT_ERROR_BASE 4294967296.0

/* Reads argument i as an int32; returns 0 and throws on a non-number. */
static int arg_int(napi_env env, napi_value v, int32_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  return napi_get_value_int32(env, v, out) == napi_ok;
}

/* Reads argument v as a Buffer / Uint8Array: its data pointer and length. */
static int arg_bytes(napi_env env, napi_value v, void **data, size_t *len) {
  bool is;
  if (napi_is_buffer(env, v, &is) == napi_ok && is) {
    return napi_get_buffer_info(env, v, data, len) == napi_ok;
  }
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t length, offset;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset) != napi_ok)
      return 0;
    if (type != napi_uint8_array) return 0;
    *len = length;
    return 1;
  }
  return 0;
}

static napi_value js_getsockopt(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t fd, level, name;
  void *data;
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || !arg_int(env, argv[0], &fd) || !arg_int(env, argv[1], &level) ||
      !arg_int(env, argv[2], &name) || !arg_bytes(env, argv[3], &data, &len))
    return throw_type(env, "getsockopt(fd, level, name, buffer)");
#ifdef __linux__
  socklen_t sl = (socklen_t)len;
  if (getsockopt(fd, level, name, data, &sl) != 0) return number(env, -(double)errno);
  return number(env, (double)sl);
#else
  (void)fd; (void)level; (void)name; (void)data; (void)len;
  return number(env, -38.0); /* ENOSYS */
#endif
}

static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t fd, level, name, n;
  void *data;
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5 || !arg_int(env, argv[0], &fd) || !arg_int(env, argv[1], &level) ||
      !arg_int(env, argv[2], &name) || !arg_bytes(env, argv[3], &data, &len) ||
      !arg_int(env, argv[4], &n) || n < 0 || (size_t)n > len)
    return throw_type(env, "setsockopt(fd, level, name, buffer, length <= buffer.length)");
#ifdef __linux__
  if (setsockopt(fd, level, name, data, (socklen_t)n) != 0) return number(env, -(double)errno);
  return number(env, 0);
#else
  (void)fd; (void)level; (void)name; (void)data; (void)len; (void)n;
  return number(env, -38.0);
#endif
}

static napi_value js_getsockopt_int(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd, level, name;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || !arg_int(env, argv[0], &fd) || !arg_int(env, argv[1], &level) ||
      !arg_int(env, argv[2], &name))
    return throw_type(env, "getsockoptInt(fd, level, name)");
#ifdef __linux__
  int v = 0;
  socklen_t sl = sizeof v;
  if (getsockopt(fd, level, name, &v, &sl) != 0)
    return number(env, -(double)errno - INT_ERROR_BASE);
  return number(env, (double)v);
#else
  (void)fd; (void)level; (void)name;
  return number(env, -38.0 - INT_ERROR_BASE);
#endif
}

static napi_value js_setsockopt_int(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t fd, level, name, value;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || !arg_int(env, argv[0], &fd) || !arg_int(env, argv[1], &level) ||
      !arg_int(env, argv[2], &name) || !arg_int(env, argv[3], &value))
    return throw_type(env, "setsockoptInt(fd, level, name, value)");
#ifdef __linux__
  int v = value;
  if (setsockopt(fd, level, name, &v, sizeof v) != 0) return number(env, -(double)errno);
  return number(env, 0);
#else
  (void)fd; (void)level; (void)name; (void)value;
  return number(env, -38.0);
#endif
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value platform;
  napi_property_descriptor props[] = {
      {"getsockopt", NULL, js_getsockopt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setsockopt", NULL, js_setsockopt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getsockoptInt", NULL, js_getsockopt_int, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setsockoptInt", NULL, js_setsockopt_int, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  CHECK(napi_create_string_utf8(env, HIJACK_PLATFORM, NAPI_AUTO_LENGTH, &platform));
  CHECK(napi_set_named_property(env, exports, "platform", platform));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
