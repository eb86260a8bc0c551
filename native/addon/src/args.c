/* Unpacking the arguments of exported addon functions (args.h). */
#include "args.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

napi_value ll_throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_LOGLOOM_NATIVE", msg);
  return NULL;
}

int ll_bytes_of(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return -1;
  napi_typedarray_type type;
  size_t n, off;
  napi_value ab;
  void *p;
  if (napi_get_typedarray_info(env, v, &type, &n, &p, &ab, &off) != napi_ok) return -1;
  size_t el = (type == napi_uint8_array || type == napi_int8_array || type == napi_uint8_clamped_array) ? 1
              : (type == napi_int16_array || type == napi_uint16_array)                                ? 2
              : (type == napi_float64_array || type == napi_bigint64_array || type == napi_biguint64_array) ? 8
                                                                                                         : 4;
  *data = p;
  *len = n * el;
  return 0;
}

static char *string_copy(napi_env env, napi_value v) {
  size_t n;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) return NULL;
  char *s = malloc(n + 1);
  if (s && napi_get_value_string_utf8(env, v, s, n + 1, &n) != napi_ok) free(s), s = NULL;
  return s;
}

int ll_args(napi_env env, napi_callback_info info, const char *usage, const char *spec, ...) {
  size_t want = strlen(spec), argc = want;
  napi_value argv[LL_ARGS_MAX];
  char **copied[LL_ARGS_MAX];
  size_t ncopied = 0;
  if (want > LL_ARGS_MAX || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    ll_throw_type(env, usage);
    return -1;
  }
  va_list ap;
  va_start(ap, spec);
  int ok = 1;
  for (size_t i = 0; ok && i < want; i++) {
    napi_value v = argv[i];
    switch (spec[i]) {
      case 'B': {
        uint8_t **data = va_arg(ap, uint8_t **);
        size_t *len = va_arg(ap, size_t *);
        ok = ll_bytes_of(env, v, data, len) == 0;
        break;
      }
      case 'i': ok = napi_get_value_int32(env, v, va_arg(ap, int32_t *)) == napi_ok; break;
      case 'u': ok = napi_get_value_uint32(env, v, va_arg(ap, uint32_t *)) == napi_ok; break;
      case 'd': ok = napi_get_value_double(env, v, va_arg(ap, double *)) == napi_ok; break;
      case 'b': ok = napi_get_value_bool(env, v, va_arg(ap, bool *)) == napi_ok; break;
      case 's': {
        char **s = va_arg(ap, char **);
        *s = string_copy(env, v);
        if (*s) copied[ncopied++] = s;
        ok = *s != NULL;
        break;
      }
      case 'x': {
        void **p = va_arg(ap, void **);
        *p = NULL;
        ok = napi_get_value_external(env, v, p) == napi_ok && *p != NULL;
        break;
      }
      case 'v': *va_arg(ap, napi_value *) = v; break;
      default: ok = 0;
    }
  }
  va_end(ap);
  if (ok) return 0;
  for (size_t i = 0; i < ncopied; i++) free(*copied[i]), *copied[i] = NULL;
  ll_throw_type(env, usage);
  return -1;
}
