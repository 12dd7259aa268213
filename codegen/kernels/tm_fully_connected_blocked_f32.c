#include "tm_fpu_f32.h"

/* Weights packed by 4 (tm_fpu_f32.h); each output sums its features in order, then the bias,
 * then the clamp, as tm_fully_connected_generic_f32. */
int tm_fully_connected_blocked_f32(const tm_fully_connected_f32_params *p, const float *input,
                                   const float *packed_weights, const float *bias,
                                   float *output)
{
    tm_f32_gemm(p->batches, p->in_features, p->out_features, input, packed_weights, bias,
                p->act_min, p->act_max, output);
    return TM_OK;
}
