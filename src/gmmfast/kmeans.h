/* Element-wise loops of the k-means passes (nearest centre, k-means++ distances), over the
 * squared distances of a block laid out centre by centre (K x rows).
 *
 * Each loop runs across the rows of a block, which are independent, so that it vectorises
 * without reassociating any sum; each is built in the versions of gmmfast/variants.h, which
 * compute the same bits.
 */
#ifndef GMMFAST_KMEANS_H
#define GMMFAST_KMEANS_H

#include <stddef.h>
#include <stdint.h>

#include "gmmfast/variants.h"

/* The nearest of the centres seen so far, given the squared distances to centre k:
   where distance[i] < nearest[i] (strictly: the first of equal centres stays), row i's
   nearest centre becomes k. */
GMMFAST_CLONES
static void gmmfast_nearest_update(const double *distance, ptrdiff_t rows, int64_t k,
                                   double *nearest, int64_t *labels) {
    for (ptrdiff_t i = 0; i < rows; i++) {
        int closer = distance[i] < nearest[i];
        labels[i] = closer ? k : labels[i];
        nearest[i] = closer ? distance[i] : nearest[i];
    }
}

/* Squared distances from the expansion: out[k, i] = max(n_i + out[k, i] + c_k, 0) for
   out = -2 Z C^T (K x rows), n_i = ||z_i||^2 and c_k = ||c_k||^2; without row norms
   (n NULL), out[k, i] + c_k, which orders the centres of a row alike. */
GMMFAST_CLONES
static void gmmfast_expand_distances(double *out, ptrdiff_t rows, ptrdiff_t n_centres,
                                     const double *row_norms, const double *centre_norms) {
    for (ptrdiff_t k = 0; k < n_centres; k++) {
        double *o = out + k * rows;
        double c = centre_norms[k];
        if (row_norms == NULL) {
            for (ptrdiff_t i = 0; i < rows; i++)
                o[i] = o[i] + c;
        } else {
            for (ptrdiff_t i = 0; i < rows; i++) {
                double d = row_norms[i] + o[i] + c;
                o[i] = d > 0.0 ? d : 0.0;
            }
        }
    }
}

#endif
