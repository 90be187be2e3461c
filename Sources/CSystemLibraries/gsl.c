/* GSL's functions that RiverValley calls, as trampolines (see loader.h), with the prototypes of the headers
 * the Swift module CGSL imports, and its three type objects through functions (a variable cannot be
 * trampolined). */
#include "../CGSL/shim.h"
#include "loader.h"

#define G RV_GSL

RV_TRAMPOLINE(G, double, gsl_cdf_tdist_Pinv, (const double P, const double nu), (P, nu))
RV_TRAMPOLINE(G, gsl_multiroot_fsolver *, gsl_multiroot_fsolver_alloc,
              (const gsl_multiroot_fsolver_type *T, size_t n), (T, n))
RV_TRAMPOLINE_VOID(G, gsl_multiroot_fsolver_free, (gsl_multiroot_fsolver *s), (s))
RV_TRAMPOLINE(G, int, gsl_multiroot_fsolver_iterate, (gsl_multiroot_fsolver *s), (s))
RV_TRAMPOLINE(G, int, gsl_multiroot_fsolver_set,
              (gsl_multiroot_fsolver *s, gsl_multiroot_function *f, const gsl_vector *x), (s, f, x))
RV_TRAMPOLINE(G, int, gsl_multiroot_test_delta,
              (const gsl_vector *dx, const gsl_vector *x, double epsabs, double epsrel), (dx, x, epsabs, epsrel))
RV_TRAMPOLINE(G, int, gsl_multiroot_test_residual, (const gsl_vector *f, double epsabs), (f, epsabs))
RV_TRAMPOLINE(G, gsl_odeiv2_driver *, gsl_odeiv2_driver_alloc_y_new,
              (const gsl_odeiv2_system *sys, const gsl_odeiv2_step_type *T, const double hstart,
               const double epsabs, const double epsrel),
              (sys, T, hstart, epsabs, epsrel))
RV_TRAMPOLINE(G, int, gsl_odeiv2_driver_apply, (gsl_odeiv2_driver *d, double *t, const double t1, double y[]),
              (d, t, t1, y))
RV_TRAMPOLINE_VOID(G, gsl_odeiv2_driver_free, (gsl_odeiv2_driver *state), (state))
RV_TRAMPOLINE(G, int, gsl_odeiv2_driver_reset, (gsl_odeiv2_driver *d), (d))
RV_TRAMPOLINE_VOID(G, gsl_ran_dirichlet, (const gsl_rng *r, const size_t K, const double alpha[], double theta[]),
                   (r, K, alpha, theta))
RV_TRAMPOLINE(G, double, gsl_ran_gaussian_ziggurat, (const gsl_rng *r, const double sigma), (r, sigma))
RV_TRAMPOLINE(G, gsl_rng *, gsl_rng_alloc, (const gsl_rng_type *T), (T))
RV_TRAMPOLINE_VOID(G, gsl_rng_free, (gsl_rng *r), (r))
RV_TRAMPOLINE_VOID(G, gsl_rng_set, (const gsl_rng *r, unsigned long int seed), (r, seed))
RV_TRAMPOLINE(G, size_t, gsl_rng_size, (const gsl_rng *r), (r))
RV_TRAMPOLINE(G, void *, gsl_rng_state, (const gsl_rng *r), (r))
RV_TRAMPOLINE(G, double, gsl_rng_uniform, (const gsl_rng *r), (r))
RV_TRAMPOLINE(G, unsigned long int, gsl_rng_uniform_int, (const gsl_rng *r, unsigned long int n), (r, n))
RV_TRAMPOLINE(G, gsl_error_handler_t *, gsl_set_error_handler_off, (void), ())
RV_TRAMPOLINE(G, double, gsl_stats_correlation,
              (const double data1[], const size_t stride1, const double data2[], const size_t stride2,
               const size_t n),
              (data1, stride1, data2, stride2, n))
RV_TRAMPOLINE(G, double, gsl_stats_mean, (const double data[], const size_t stride, const size_t n),
              (data, stride, n))
RV_TRAMPOLINE(G, double, gsl_stats_sd, (const double data[], const size_t stride, const size_t n), (data, stride, n))
RV_TRAMPOLINE(G, double, gsl_stats_spearman,
              (const double data1[], const size_t stride1, const double data2[], const size_t stride2,
               const size_t n, double work[]),
              (data1, stride1, data2, stride2, n, work))
RV_TRAMPOLINE(G, gsl_vector *, gsl_vector_calloc, (const size_t n), (n))
RV_TRAMPOLINE_VOID(G, gsl_vector_free, (gsl_vector *v), (v))
RV_TRAMPOLINE(G, double, gsl_vector_get, (const gsl_vector *v, const size_t i), (v, i))
RV_TRAMPOLINE_VOID(G, gsl_vector_set, (gsl_vector *v, const size_t i, double x), (v, i, x))

/* `rv_<name>()`: the type object GSL's variable `name` points to (its address looked up once). */
#define TYPE_OBJECT(type, name)                                                                    \
    RV_POINTER(G, name)                                                                            \
    type *rv_##name(void) { return *rv_pointer_##name(); }
TYPE_OBJECT(const gsl_rng_type, gsl_rng_mt19937)
TYPE_OBJECT(const gsl_multiroot_fsolver_type, gsl_multiroot_fsolver_hybrids)
TYPE_OBJECT(const gsl_odeiv2_step_type, gsl_odeiv2_step_rkf45)
