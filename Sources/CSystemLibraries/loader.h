/* Internal to CSystemLibraries: the libraries and the symbol lookup the trampolines use. */
#ifndef RIVER_SYSTEM_LIBRARIES_LOADER_H
#define RIVER_SYSTEM_LIBRARIES_LOADER_H

enum rv_library { RV_OPENBLAS = 0, RV_LAPACKE = 1, RV_GSL = 2, RV_LIBRARY_COUNT = 3 };

/* The address of `symbol` in `library`, opening the library (and OpenBLAS before it) on first use; ends
 * the process with a message when either fails. */
void *rv_system_symbol(enum rv_library library, const char *symbol);

/* `rv_pointer_<name>()`: the library's `name`, looked up on the first call and cached (a racing second
 * lookup finds the same address, so the acquire/release pair is enough). */
#define RV_POINTER(library, name)                                                                  \
    static __typeof__(name) *rv_pointer_##name(void) {                                             \
        static __typeof__(name) *cached;                                                           \
        __typeof__(name) *f = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);                          \
        if (!f) {                                                                                  \
            f = (__typeof__(name) *)rv_system_symbol(library, #name);                              \
            __atomic_store_n(&cached, f, __ATOMIC_RELEASE);                                        \
        }                                                                                          \
        return f;                                                                                  \
    }

/* A function trampoline: `ret name params` with the header's prototype, forwarding `args` to the
 * library's definition. */
#define RV_TRAMPOLINE(library, ret, name, params, args)                                            \
    RV_POINTER(library, name)                                                                      \
    ret name params { return rv_pointer_##name() args; }

/* The same for functions returning void. */
#define RV_TRAMPOLINE_VOID(library, name, params, args)                                            \
    RV_POINTER(library, name)                                                                      \
    void name params { rv_pointer_##name() args; }

#endif
