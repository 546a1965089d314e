# BLAS on row-major arrays, for float32 and float64, through SciPy's Fortran BLAS. Every
# call site of the passes goes through these two functions.
#
# A row-major matrix is the transpose of the same memory read column-major, so the
# row-major C = op(A) op(B) is computed as the column-major C^T = op(B)^T op(A)^T, and the
# row-major op(A) op(A)^T in one triangle is the column-major one in the other triangle with
# op transposed.

from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, dsyrk, sgemm, ssyrk


cdef enum BLAS_Trans:
    NoTrans = 78   # 'N'
    Trans = 84     # 'T'

cdef enum BLAS_Triangle:
    Upper = 85     # 'U'
    Lower = 76     # 'L'


cdef inline void gemm(BLAS_Trans ta, BLAS_Trans tb, int m, int n, int k, floating alpha,
                      const floating *a, int lda, const floating *b, int ldb, floating beta,
                      floating *c, int ldc) noexcept nogil:
    """C (m x n) = alpha op(A) op(B) + beta C, op(A) m x k and op(B) k x n, all row-major."""
    cdef char ta_ = ta, tb_ = tb
    if floating is float:
        sgemm(&tb_, &ta_, &n, &m, &k, &alpha, <float *> b, &ldb, <float *> a, &lda,
              &beta, c, &ldc)
    else:
        dgemm(&tb_, &ta_, &n, &m, &k, &alpha, <double *> b, &ldb, <double *> a, &lda,
              &beta, c, &ldc)


cdef inline void syrk(BLAS_Triangle triangle, BLAS_Trans trans, int n, int k,
                      floating alpha, const floating *a, int lda, floating beta,
                      floating *c, int ldc) noexcept nogil:
    """One triangle of C (n x n) = alpha op(A) op(A)^T + beta C, op(A) n x k (A^T A with
    trans = Trans), all row-major."""
    cdef char uplo = Lower if triangle == Upper else Upper
    cdef char tr = NoTrans if trans == Trans else Trans
    if floating is float:
        ssyrk(&uplo, &tr, &n, &k, &alpha, <float *> a, &lda, &beta, c, &ldc)
    else:
        dsyrk(&uplo, &tr, &n, &k, &alpha, <double *> a, &lda, &beta, c, &ldc)
