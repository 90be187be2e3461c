// OpenBLAS's cblas.h first, then tell GSL its own CBLAS header is already in (docs/machine-facts.md):
// otherwise CBLAS_TRANSPOSE gets two definitions and Swift refuses to import both modules.
#include <cblas.h>
#define __GSL_CBLAS_H__
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_sort_vector.h>
#include <gsl/gsl_odeiv2.h>
#include <gsl/gsl_roots.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_multiroots.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_sf_psi.h>
#include <gsl/gsl_cdf.h>

// GSL's type objects (variables in libgsl) through functions: GSL is opened on first use
// (Sources/CSystemLibraries), and only a function call can do that.
const gsl_rng_type *rv_gsl_rng_mt19937(void);
const gsl_multiroot_fsolver_type *rv_gsl_multiroot_fsolver_hybrids(void);
const gsl_odeiv2_step_type *rv_gsl_odeiv2_step_rkf45(void);
