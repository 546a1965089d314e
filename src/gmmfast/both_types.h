/* One definition for float64 and float32 rows: includes the header named by
 * GMMFAST_TYPED_HEADER twice, once with GMMFAST_T double and GMMFAST_TYPED(name) name_d,
 * once with GMMFAST_T float and GMMFAST_TYPED(name) name_f. (No include guard: it is
 * meant to be included once per typed header.) */
#define GMMFAST_T double
#define GMMFAST_TYPED(name) name##_d
#include GMMFAST_TYPED_HEADER
#undef GMMFAST_T
#undef GMMFAST_TYPED
#define GMMFAST_T float
#define GMMFAST_TYPED(name) name##_f
#include GMMFAST_TYPED_HEADER
#undef GMMFAST_T
#undef GMMFAST_TYPED
#undef GMMFAST_TYPED_HEADER
