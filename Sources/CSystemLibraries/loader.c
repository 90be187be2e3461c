/* See include/system_libraries.h. */
#include "system_libraries.h"
#include "loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* File names to try, in order. The unversioned names are the -dev packages' links, which point at the
 * library the headers belong to (GSL's soname changes with its major version); the versioned ones follow. */
static const char *const file_names[RV_LIBRARY_COUNT][3] = {
    {"libopenblas.so.0", "libopenblas.so", NULL},
    {"liblapacke.so.3", "liblapacke.so", NULL},
    {"libgsl.so", "libgsl.so.27", "libgsl.so.28"},
};
static const char *const packages[RV_LIBRARY_COUNT] = {"libopenblas-dev", "liblapacke-dev", "libgsl-dev"};

static pthread_once_t once[RV_LIBRARY_COUNT] = {PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT};
static void *handles[RV_LIBRARY_COUNT];

const char *rv_openblas_recommended_core(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
    if (__builtin_cpu_supports("avx2")) return "Haswell";
#endif
    return NULL;
}

const char *rv_openblas_thread_timeout(void) { return "4"; }

static _Noreturn void fail(const char *what, const char *name, const char *why, enum rv_library library) {
    fprintf(stderr, "error: %s %s: %s (install %s)\n", what, name, why ? why : "unknown reason",
            packages[library]);
    fflush(stderr);
    exit(1);
}

static void open_library(enum rv_library library) {
    const char *why = NULL;
    for (int i = 0; i < 3 && file_names[library][i]; i++) {
        /* RTLD_GLOBAL: LAPACKE's LAPACK and GSL's BLAS calls bind to OpenBLAS, opened first. RTLD_LAZY: as when
         * linked, a function is bound on its first call, not all of a library's at once (≈ 1 ms for the three). */
        void *handle = dlopen(file_names[library][i], RTLD_LAZY | RTLD_GLOBAL);
        if (handle) {
            __atomic_store_n(&handles[library], handle, __ATOMIC_RELEASE);
            return;
        }
        if (!why) why = dlerror();
    }
    fail("cannot load", file_names[library][0], why, library);
}

static void open_openblas(void) {
    /* OpenBLAS's constructor reads these when the library loads, which is now. */
    const char *core = rv_openblas_recommended_core();
    if (core) setenv("OPENBLAS_CORETYPE", core, 0);
    setenv("OPENBLAS_THREAD_TIMEOUT", rv_openblas_thread_timeout(), 0);
    open_library(RV_OPENBLAS);
}
static void open_lapacke(void) { open_library(RV_LAPACKE); }
static void open_gsl(void) { open_library(RV_GSL); }
static void (*const openers[RV_LIBRARY_COUNT])(void) = {open_openblas, open_lapacke, open_gsl};

void rv_system_library_open(int library) {
    pthread_once(&once[RV_OPENBLAS], open_openblas);
    if (library > 0 && library < RV_LIBRARY_COUNT) pthread_once(&once[library], openers[library]);
}

void *rv_system_symbol(enum rv_library library, const char *symbol) {
    rv_system_library_open(library);
    dlerror();
    void *address = dlsym(handles[library], symbol);
    if (!address) fail("cannot find", symbol, dlerror(), library);
    return address;
}

int rv_system_library_loaded(int library) {
    if (library < 0 || library >= RV_LIBRARY_COUNT) return 0;
    return __atomic_load_n(&handles[library], __ATOMIC_ACQUIRE) != NULL;
}

