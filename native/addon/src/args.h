/*
 * The arguments of an exported addon function, unpacked by one helper instead of the same
 * napi_get_cb_info / napi_get_value_* / TypeError boilerplate in every function.
 */
#ifndef LOGLOOM_ADDON_ARGS_H
#define LOGLOOM_ADDON_ARGS_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* The most arguments an exported function takes. */
#define LL_ARGS_MAX 12

/*
 * Reads as many arguments as `spec` has letters, each into the pointer(s) that follow:
 *   'B'  the bytes of a Buffer or any TypedArray   uint8_t **data, size_t *len
 *   'i'  a number as int32                         int32_t *
 *   'u'  a number as uint32                        uint32_t *
 *   'd'  a number                                  double *
 *   'b'  a boolean                                 bool *
 *   's'  a string, copied with malloc (free it)    char **
 *   'x'  an external, not NULL                     void **
 *   'v'  the value itself (e.g. a callback)        napi_value *
 * A missing or mistyped argument throws a TypeError whose message is `usage` (code
 * ERR_LOGLOOM_NATIVE), frees the strings copied so far, and returns -1. Returns 0 when all fit.
 */
int ll_args(napi_env env, napi_callback_info info, const char *usage, const char *spec, ...);

/* Throws a TypeError (code ERR_LOGLOOM_NATIVE); returns NULL for `return ll_throw_type(...)`. */
napi_value ll_throw_type(napi_env env, const char *msg);

/* The bytes of a Buffer / TypedArray value; -1 when it is not one. */
int ll_bytes_of(napi_env env, napi_value v, uint8_t **data, size_t *len);

#endif
