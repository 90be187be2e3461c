/* See include/onednn_matmul.h. oneDNN 2.x C API, resolved with dlsym. */
#include "onednn_matmul.h"
#include "bf16_round.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_version.h>

#define FUNCTIONS(X)                                                                                   \
    X(dnnl_engine_create) X(dnnl_stream_create) X(dnnl_stream_wait) X(dnnl_memory_desc_init_by_strides) \
    X(dnnl_matmul_desc_init) X(dnnl_primitive_attr_create) X(dnnl_primitive_attr_destroy)             \
    X(dnnl_post_ops_create) X(dnnl_post_ops_destroy) X(dnnl_post_ops_append_sum)                      \
    X(dnnl_primitive_attr_set_post_ops) X(dnnl_primitive_desc_create) X(dnnl_primitive_desc_destroy)   \
    X(dnnl_primitive_desc_query) X(dnnl_primitive_create) X(dnnl_primitive_destroy)                    \
    X(dnnl_primitive_execute) X(dnnl_memory_create) X(dnnl_memory_destroy)                            \
    X(dnnl_memory_set_data_handle) X(dnnl_get_effective_cpu_isa) X(dnnl_version)

#define DECLARE(name) static __typeof__(name) *p_##name;
FUNCTIONS(DECLARE)

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_status = -1;
static char load_why[256];
static dnnl_engine_t engine;
static dnnl_stream_t stream;
static char version_text[32] = "unavailable";

/* OpenMP's omp_set_num_threads, when this oneDNN runs on OpenMP (Debian's does, on libgomp). */
static void (*p_omp_set_num_threads)(int);
static int omp_threads = -1;

static void load(void) {
    /* oneDNN's OpenMP workers would otherwise spin after each matmul (libgomp's default wait policy),
     * taking the cores from the trainer's own kernels that run next: measured on a 2-core AMD Zen 4, the
     * attention and SwiGLU phases of a bf16 step took twice their fp32 time. libgomp reads this when it
     * is loaded, which happens here (oneDNN pulls it in); a value the user set is kept. */
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(load_why, sizeof load_why, "oneDNN not found (libdnnl.so.2: %s); install libdnnl-dev", dlerror());
        return;
    }
#define RESOLVE(name)                                                                        \
    if (!(p_##name = (__typeof__(name) *)dlsym(h, #name))) {                                 \
        snprintf(load_why, sizeof load_why, "libdnnl.so.2 lacks %s (oneDNN 2.x needed)", #name); \
        return;                                                                              \
    }
    FUNCTIONS(RESOLVE)
    p_omp_set_num_threads = (void (*)(int))dlsym(h, "omp_set_num_threads");
    const dnnl_version_t *v = p_dnnl_version();
    snprintf(version_text, sizeof version_text, "%d.%d.%d", v->major, v->minor, v->patch);
    if (v->major != DNNL_VERSION_MAJOR) {
        snprintf(load_why, sizeof load_why, "libdnnl.so.2 is oneDNN %s, built against %d.x", version_text,
                 DNNL_VERSION_MAJOR);
        return;
    }
    if (p_dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success ||
        p_dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) {
        snprintf(load_why, sizeof load_why, "oneDNN could not create a CPU engine");
        return;
    }
    load_status = 0;
}

void rv_onednn_set_threads(int n) {
    if (n < 1 || n == omp_threads || rv_onednn_load(NULL, 0) != 0) return;
    if (p_omp_set_num_threads) p_omp_set_num_threads(n);
    omp_threads = n;
}

int rv_onednn_load(char *why, size_t why_len) {
    pthread_once(&load_once, load);
    if (load_status != 0 && why && why_len) snprintf(why, why_len, "%s", load_why);
    return load_status;
}

const char *rv_onednn_version(void) {
    pthread_once(&load_once, load);
    return version_text;
}

const char *rv_onednn_isa(void) {
    if (rv_onednn_load(NULL, 0) != 0) return "unavailable";
    switch (p_dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

struct rv_onednn_matmul {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t primitive;
    dnnl_memory_t a, b, c;
};

static const char *status_name(dnnl_status_t s) {
    switch (s) {
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "unimplemented on this CPU";
    case dnnl_runtime_error: return "runtime error";
    default: return "error";
    }
}

rv_onednn_matmul *rv_onednn_matmul_create(int bf16, int trans_a, int trans_b, long m, long n, long k,
                                          long lda, long ldb, long ldc, float beta,
                                          char *impl, size_t impl_len, char *why, size_t why_len) {
    if (rv_onednn_load(why, why_len) != 0) return NULL;
    dnnl_data_type_t in = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t ad, bd, cd;
    dnnl_dims_t adims = {m, k}, bdims = {k, n}, cdims = {m, n};
    /* op(A)[i, p] lives at i·lda + p, or at p·lda + i when transposed; likewise for B and C. */
    dnnl_dims_t astr = {trans_a ? 1 : lda, trans_a ? lda : 1};
    dnnl_dims_t bstr = {trans_b ? 1 : ldb, trans_b ? ldb : 1};
    dnnl_dims_t cstr = {ldc, 1};
    dnnl_status_t s;
    if ((s = p_dnnl_memory_desc_init_by_strides(&ad, 2, adims, in, astr)) != dnnl_success ||
        (s = p_dnnl_memory_desc_init_by_strides(&bd, 2, bdims, in, bstr)) != dnnl_success ||
        (s = p_dnnl_memory_desc_init_by_strides(&cd, 2, cdims, dnnl_f32, cstr)) != dnnl_success) {
        snprintf(why, why_len, "oneDNN rejected the matrix layout (%s)", status_name(s));
        return NULL;
    }
    dnnl_matmul_desc_t desc;
    if ((s = p_dnnl_matmul_desc_init(&desc, &ad, &bd, NULL, &cd)) != dnnl_success) {
        snprintf(why, why_len, "oneDNN matmul descriptor: %s", status_name(s));
        return NULL;
    }
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    p_dnnl_primitive_attr_create(&attr);
    if (beta != 0) {
        p_dnnl_post_ops_create(&ops);
        p_dnnl_post_ops_append_sum(ops, beta);
        p_dnnl_primitive_attr_set_post_ops(attr, ops);
    }
    rv_onednn_matmul *p = calloc(1, sizeof *p);
    s = p_dnnl_primitive_desc_create(&p->pd, &desc, attr, engine, NULL);
    if (ops) p_dnnl_post_ops_destroy(ops);
    p_dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success) {
        snprintf(why, why_len, "oneDNN has no %s matmul for this shape: %s (CPU ISA %s)", bf16 ? "bf16" : "f32",
                 status_name(s), rv_onednn_isa());
        free(p);
        return NULL;
    }
    const char *name = "?";
    p_dnnl_primitive_desc_query(p->pd, dnnl_query_impl_info_str, 0, &name);
    if (impl && impl_len) snprintf(impl, impl_len, "%s", name);
    if ((s = p_dnnl_primitive_create(&p->primitive, p->pd)) != dnnl_success ||
        (s = p_dnnl_memory_create(&p->a, &ad, engine, DNNL_MEMORY_NONE)) != dnnl_success ||
        (s = p_dnnl_memory_create(&p->b, &bd, engine, DNNL_MEMORY_NONE)) != dnnl_success ||
        (s = p_dnnl_memory_create(&p->c, &cd, engine, DNNL_MEMORY_NONE)) != dnnl_success) {
        snprintf(why, why_len, "oneDNN could not create the %s primitive: %s", name, status_name(s));
        rv_onednn_matmul_destroy(p);
        return NULL;
    }
    return p;
}

int rv_onednn_matmul_run(rv_onednn_matmul *p, const void *a, const void *b, float *c) {
    dnnl_status_t s;
    if ((s = p_dnnl_memory_set_data_handle(p->a, (void *)a)) != dnnl_success) return (int)s;
    if ((s = p_dnnl_memory_set_data_handle(p->b, (void *)b)) != dnnl_success) return (int)s;
    if ((s = p_dnnl_memory_set_data_handle(p->c, c)) != dnnl_success) return (int)s;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, p->a}, {DNNL_ARG_WEIGHTS, p->b}, {DNNL_ARG_DST, p->c}};
    if ((s = p_dnnl_primitive_execute(p->primitive, stream, 3, args)) != dnnl_success) return (int)s;
    return (int)p_dnnl_stream_wait(stream);
}

void rv_onednn_matmul_destroy(rv_onednn_matmul *p) {
    if (!p) return;
    if (p->a) p_dnnl_memory_destroy(p->a);
    if (p->b) p_dnnl_memory_destroy(p->b);
    if (p->c) p_dnnl_memory_destroy(p->c);
    if (p->primitive) p_dnnl_primitive_destroy(p->primitive);
    if (p->pd) p_dnnl_primitive_desc_destroy(p->pd);
    free(p);
}

void rv_f32_to_bf16(const float *src, uint16_t *dst, long n) {
    for (long i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, src + i, 4);
        dst[i] = (uint16_t)(round_bits(u) >> 16);
    }
}

void rv_round_f32_to_bf16(const float *src, float *dst, long n) {
    for (long i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, src + i, 4);
        u = round_bits(u);
        memcpy(dst + i, &u, 4);
    }
}
