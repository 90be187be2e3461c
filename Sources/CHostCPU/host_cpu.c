#include "host_cpu.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RIVER_TARGET_CPU
#define RIVER_TARGET_CPU "unknown"
#endif

const char *rv_build_target_cpu(void) { return RIVER_TARGET_CPU; }

int rv_host_supports_build_target(char *missing, size_t capacity) {
    if (capacity > 0) missing[0] = '\0';
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    struct { const char *name; int have; } need[8];
    int n = 0;
    if (strcmp(RIVER_TARGET_CPU, "skylake-avx512") == 0) {
        need[n].name = "avx512f";  need[n++].have = __builtin_cpu_supports("avx512f");
        need[n].name = "avx512cd"; need[n++].have = __builtin_cpu_supports("avx512cd");
        need[n].name = "avx512bw"; need[n++].have = __builtin_cpu_supports("avx512bw");
        need[n].name = "avx512dq"; need[n++].have = __builtin_cpu_supports("avx512dq");
        need[n].name = "avx512vl"; need[n++].have = __builtin_cpu_supports("avx512vl");
    }
    if (strcmp(RIVER_TARGET_CPU, "unknown") != 0) {
        need[n].name = "avx2"; need[n++].have = __builtin_cpu_supports("avx2");
        need[n].name = "fma";  need[n++].have = __builtin_cpu_supports("fma");
    }
    /* Tests only: RIVER_TEST_CPU_LACKS="avx2 fma" makes those extensions count as missing, so the refusal
     * can be checked on a CPU that has everything. */
    const char *lacks = getenv("RIVER_TEST_CPU_LACKS");
    if (lacks && *lacks) {
        for (int i = 0; i < n; i++) {
            size_t len = strlen(need[i].name);
            for (const char *p = strstr(lacks, need[i].name); p; p = strstr(p + 1, need[i].name)) {
                int starts = p == lacks || p[-1] == ' ' || p[-1] == ',';
                int ends = p[len] == '\0' || p[len] == ' ' || p[len] == ',';
                if (starts && ends) { need[i].have = 0; break; }
            }
        }
    }
    int ok = 1;
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        if (need[i].have) continue;
        ok = 0;
        int w = snprintf(missing + used, capacity > used ? capacity - used : 0, "%s%s", used ? " " : "", need[i].name);
        if (w > 0) used += (size_t)w;
    }
    return ok;
#else
    (void)missing; (void)capacity;
    return 1;
#endif
}

void rv_require_build_target(void) {
    char missing[128];
    if (rv_host_supports_build_target(missing, sizeof missing)) return;
    fprintf(stderr,
            "error: this river binary was built for target CPU '%s', but this CPU lacks %s. "
            "Rebuild it on this machine (scripts/setup.sh), or build a portable binary with "
            "RIVER_TARGET_CPU=haswell swift build -c release.\n",
            RIVER_TARGET_CPU, missing);
    exit(2);
}
