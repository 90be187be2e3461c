/* OpenBLAS's CBLAS and LAPACKE functions that RiverValley calls, as trampolines (see loader.h), with the
 * prototypes of the headers the Swift modules import. */
#include "../COpenBLAS/shim.h"
#include "../CLapacke/shim.h"
#include "loader.h"

#define B OPENBLAS_CONST
typedef enum CBLAS_ORDER Order;
typedef enum CBLAS_TRANSPOSE Trans;

RV_TRAMPOLINE(RV_OPENBLAS, double, cblas_ddot,
              (B blasint n, B double *x, B blasint incx, B double *y, B blasint incy), (n, x, incx, y, incy))
RV_TRAMPOLINE(RV_OPENBLAS, double, cblas_dnrm2, (B blasint N, B double *X, B blasint incX), (N, X, incX))
RV_TRAMPOLINE_VOID(RV_OPENBLAS, cblas_daxpy,
                   (B blasint n, B double alpha, B double *x, B blasint incx, double *y, B blasint incy),
                   (n, alpha, x, incx, y, incy))
RV_TRAMPOLINE_VOID(RV_OPENBLAS, cblas_dgemv,
                   (B Order order, B Trans trans, B blasint m, B blasint n, B double alpha, B double *a,
                    B blasint lda, B double *x, B blasint incx, B double beta, double *y, B blasint incy),
                   (order, trans, m, n, alpha, a, lda, x, incx, beta, y, incy))
RV_TRAMPOLINE_VOID(RV_OPENBLAS, cblas_dgemm,
                   (B Order Order, B Trans TransA, B Trans TransB, B blasint M, B blasint N, B blasint K,
                    B double alpha, B double *A, B blasint lda, B double *B_, B blasint ldb, B double beta,
                    double *C, B blasint ldc),
                   (Order, TransA, TransB, M, N, K, alpha, A, lda, B_, ldb, beta, C, ldc))
RV_TRAMPOLINE_VOID(RV_OPENBLAS, cblas_sgemm,
                   (B Order Order, B Trans TransA, B Trans TransB, B blasint M, B blasint N, B blasint K,
                    B float alpha, B float *A, B blasint lda, B float *B_, B blasint ldb, B float beta,
                    float *C, B blasint ldc),
                   (Order, TransA, TransB, M, N, K, alpha, A, lda, B_, ldb, beta, C, ldc))
RV_TRAMPOLINE_VOID(RV_OPENBLAS, openblas_set_num_threads, (int num_threads), (num_threads))
RV_TRAMPOLINE(RV_OPENBLAS, int, openblas_get_num_threads, (void), ())
RV_TRAMPOLINE(RV_OPENBLAS, char *, openblas_get_corename, (void), ())

RV_TRAMPOLINE(RV_LAPACKE, lapack_int, LAPACKE_dgels,
              (int matrix_layout, char trans, lapack_int m, lapack_int n, lapack_int nrhs, double *a,
               lapack_int lda, double *b, lapack_int ldb),
              (matrix_layout, trans, m, n, nrhs, a, lda, b, ldb))
RV_TRAMPOLINE(RV_LAPACKE, lapack_int, LAPACKE_dgesv,
              (int matrix_layout, lapack_int n, lapack_int nrhs, double *a, lapack_int lda, lapack_int *ipiv,
               double *b, lapack_int ldb),
              (matrix_layout, n, nrhs, a, lda, ipiv, b, ldb))
RV_TRAMPOLINE(RV_LAPACKE, lapack_int, LAPACKE_dstev,
              (int matrix_layout, char jobz, lapack_int n, double *d, double *e, double *z, lapack_int ldz),
              (matrix_layout, jobz, n, d, e, z, ldz))
RV_TRAMPOLINE(RV_LAPACKE, lapack_int, LAPACKE_dsyevd,
              (int matrix_layout, char jobz, char uplo, lapack_int n, double *a, lapack_int lda, double *w),
              (matrix_layout, jobz, uplo, n, a, lda, w))
RV_TRAMPOLINE(RV_LAPACKE, lapack_int, LAPACKE_dsysv,
              (int matrix_layout, char uplo, lapack_int n, lapack_int nrhs, double *a, lapack_int lda,
               lapack_int *ipiv, double *b, lapack_int ldb),
              (matrix_layout, uplo, n, nrhs, a, lda, ipiv, b, ldb))
