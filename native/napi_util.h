/*
 * The few N-API helpers both native files use (sockopt.c, relay.c). Header-only, static:
 * each addon gets its own copy.
 */
#ifndef HIJACK_NAPI_UTIL_H
#define HIJACK_NAPI_UTIL_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

/* Returns NULL from the calling function when an N-API call fails (an exception is then
 * pending, or the environment is going away). */
#define CHECK(call)                                                                      \
  do {                                                                                   \
    if ((call) != napi_ok) return NULL;                                                  \
  } while (0)

static inline napi_value number(napi_env env, double v) {
  napi_value out;
  if (napi_create_double(env, v, &out) != napi_ok) return NULL;
  return out;
}

static inline napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

#endif
