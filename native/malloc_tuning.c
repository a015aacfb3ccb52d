// Tunes glibc's malloc for a process that allocates many short-lived buffers of 128 KiB to a few
// MiB (blobs, pack ranges) in several threads.
//
// glibc serves allocations above its mmap threshold with mappings of their own, unmapped when
// freed. But the threshold is dynamic: freeing such a mapping raises it to that mapping's size
// (up to 32 MiB) and the trim threshold to twice that, so after the first freed 4 MiB buffer
// every buffer up to 4 MiB comes from the thread's arena, and an arena gives back only what
// exceeds 8 MiB at its top. The restore's writer threads each grew their arena by 10-20 MiB that
// way. Setting either threshold turns the dynamic adjustment off, as MALLOC_MMAP_THRESHOLD_ and
// MALLOC_TRIM_THRESHOLD_ would at start-up.

#include <node_api.h>
#include <stdint.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

// Sets a mallopt() option to the number given; returns true when the allocator took it.
static napi_value set_option(napi_env env, napi_callback_info info, int option) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t bytes = 0;
  int applied = 0;
  if (option != 0 && napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1 &&
      napi_get_value_int64(env, argv[0], &bytes) == napi_ok && bytes > 0 && bytes <= INT32_MAX) {
#if defined(__GLIBC__)
    applied = mallopt(option, (int)bytes) == 1;
#endif
  }
  napi_value result;
  napi_get_boolean(env, applied, &result);
  return result;
}

#if defined(__GLIBC__)
#define MMAP_THRESHOLD M_MMAP_THRESHOLD
#define TRIM_THRESHOLD M_TRIM_THRESHOLD
#else
#define MMAP_THRESHOLD 0
#define TRIM_THRESHOLD 0
#endif

static napi_value set_mmap_threshold(napi_env env, napi_callback_info info) { return set_option(env, info, MMAP_THRESHOLD); }
static napi_value set_trim_threshold(napi_env env, napi_callback_info info) { return set_option(env, info, TRIM_THRESHOLD); }

static int export_function(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value fn;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn) == napi_ok &&
         napi_set_named_property(env, exports, name, fn) == napi_ok;
}

NAPI_MODULE_INIT() {
  if (!export_function(env, exports, "setMmapThreshold", set_mmap_threshold)) return NULL;
  if (!export_function(env, exports, "setTrimThreshold", set_trim_threshold)) return NULL;
  return exports;
}
