/*
 * polythene-dumpable: a Node-API addon that makes the Node process itself non-dumpable
 * (prctl PR_SET_DUMPABLE 0) and back, which Node has no call for:
 *
 *   getDumpable() -> 0 | 1 | 2      (PR_GET_DUMPABLE)
 *   setDumpable(isDumpable: boolean) (PR_SET_DUMPABLE; throws on failure)
 *
 * A command under proot runs as the caller's own user in the caller's pid namespace, and the
 * kernel lets a process of the same user read a *dumpable* process's /proc/<pid>/environ and
 * /proc/<pid>/mem (polythene's host environment and its heap); it refuses for a non-dumpable
 * one. A helper process cannot do this for Node: dumpable is per process.
 *
 * Built as a shared object with no library at all (-nostdlib): the few Node-API functions it
 * calls are declared here by hand (no node headers needed) and resolved from the node binary
 * when Node loads it; prctl is a raw system call. So it loads under any libc (glibc, musl)
 * and any Node release with Node-API, and a user's machine needs no compiler.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef int napi_status; /* napi_ok is 0 */
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);

napi_status napi_get_cb_info(napi_env env, napi_callback_info info, size_t *argc,
                             napi_value *argv, napi_value *this_arg, void **data);
napi_status napi_get_value_bool(napi_env env, napi_value value, bool *result);
napi_status napi_create_int32(napi_env env, int32_t value, napi_value *result);
napi_status napi_get_undefined(napi_env env, napi_value *result);
napi_status napi_create_function(napi_env env, const char *name, size_t length,
                                 napi_callback callback, void *data, napi_value *result);
napi_status napi_set_named_property(napi_env env, napi_value object, const char *name,
                                    napi_value value);
napi_status napi_throw_error(napi_env env, const char *code, const char *message);

enum { PR_GET_DUMPABLE = 3, PR_SET_DUMPABLE = 4 };

/* prctl(option, value, 0, 0, 0), returning the result or -errno. */
#if defined(__x86_64__)
static long call_prctl(long option, long value) {
  register long arg4 __asm__("r10") = 0;
  register long arg5 __asm__("r8") = 0;
  long result;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "0"(157L), "D"(option), "S"(value), "d"(0L), "r"(arg4), "r"(arg5)
                   : "rcx", "r11", "memory");
  return result;
}
#elif defined(__aarch64__)
static long call_prctl(long option, long value) {
  register long number __asm__("x8") = 167;
  register long arg1 __asm__("x0") = option;
  register long arg2 __asm__("x1") = value;
  register long arg3 __asm__("x2") = 0;
  register long arg4 __asm__("x3") = 0;
  register long arg5 __asm__("x4") = 0;
  __asm__ volatile("svc 0"
                   : "+r"(arg1)
                   : "r"(number), "r"(arg2), "r"(arg3), "r"(arg4), "r"(arg5)
                   : "memory");
  return arg1;
}
#else
#error "polythene-dumpable: only x86_64 and aarch64 are supported"
#endif

static napi_value get_dumpable(napi_env env, napi_callback_info info) {
  (void)info;
  long state = call_prctl(PR_GET_DUMPABLE, 0);
  napi_value result;
  if (state < 0) {
    napi_throw_error(env, "POLYTHENE_PRCTL", "prctl(PR_GET_DUMPABLE) failed");
    return NULL;
  }
  if (napi_create_int32(env, (int32_t)state, &result) != 0) return NULL;
  return result;
}

static napi_value set_dumpable(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool is_dumpable = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 1 ||
      napi_get_value_bool(env, argv[0], &is_dumpable) != 0) {
    napi_throw_error(env, "POLYTHENE_PRCTL", "setDumpable takes one boolean");
    return NULL;
  }
  if (call_prctl(PR_SET_DUMPABLE, is_dumpable ? 1 : 0) != 0) {
    napi_throw_error(env, "POLYTHENE_PRCTL", "prctl(PR_SET_DUMPABLE) failed");
    return NULL;
  }
  napi_value result;
  if (napi_get_undefined(env, &result) != 0) return NULL;
  return result;
}

static int export_function(napi_env env, napi_value exports, const char *name,
                           napi_callback callback) {
  napi_value function;
  if (napi_create_function(env, name, (size_t)-1, callback, NULL, &function) != 0) return -1;
  return napi_set_named_property(env, exports, name, function);
}

/* The well-known symbols Node looks up in an addon that does not register itself. */
__attribute__((visibility("default"))) int32_t node_api_module_get_api_version_v1(void) {
  return 8;
}

__attribute__((visibility("default"))) napi_value napi_register_module_v1(napi_env env,
                                                                          napi_value exports) {
  if (export_function(env, exports, "getDumpable", get_dumpable) != 0 ||
      export_function(env, exports, "setDumpable", set_dumpable) != 0)
    return NULL;
  return exports;
}
