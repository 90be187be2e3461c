/* Internal to CSystemLibraries: the libraries and the symbol lookup the trampolines use. */
#ifndef RIVER_SYSTEM_LIBRARIES_LOADER_H
#define RIVER_SYSTEM_LIBRARIES_LOADER_H

enum rv_library { RV_OPENBLAS = 0, RV_LAPACKE = 1, RV_GSL = 2, RV_LIBRARY_COUNT = 3 };

/* The address of `symbol` in `library`, opening the library (and OpenBLAS before it) on first use; ends
 * the process with a message when either fails. */
void *rv_system_symbol(enum rv_library library, const char *symbol);

/* A function trampoline: `ret name params` with the header's prototype, forwarding `args` to the
 * library's definition. The pointer is cached after the first lookup (a racing second lookup finds the
 * same address, so the relaxed-then-release pair is enough). */
#define RV_TRAMPOLINE(library, ret, name, params, args)                                            \
    ret name params {                                                                              \
        static __typeof__(name) *cached;                                                           \
        __typeof__(name) *rv_f = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);                          \
        if (!rv_f) {                                                                                  \
            rv_f = (__typeof__(name) *)rv_system_symbol(library, #name);                              \
            __atomic_store_n(&cached, rv_f, __ATOMIC_RELEASE);                                        \
        }                                                                                          \
        return rv_f args;                                                                             \
    }

/* The same for functions returning void. */
#define RV_TRAMPOLINE_VOID(library, name, params, args)                                            \
    void name params {                                                                             \
        static __typeof__(name) *cached;                                                           \
        __typeof__(name) *rv_f = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);                          \
        if (!rv_f) {                                                                                  \
            rv_f = (__typeof__(name) *)rv_system_symbol(library, #name);                              \
            __atomic_store_n(&cached, rv_f, __ATOMIC_RELEASE);                                        \
        }                                                                                          \
        rv_f args;                                                                                    \
    }

#endif
