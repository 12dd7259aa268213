#include "tm_nn.h"

int tm_fully_connected_generic_f32(const tm_fully_connected_f32_params *p, const float *input,
                                   const float *weights, const float *bias, float *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *row = input + b * p->in_features;
        for (int32_t o = 0; o < p->out_features; ++o) {
            const float *w = weights + o * p->in_features;
            float acc = 0.0f;
            for (int32_t k = 0; k < p->in_features; ++k) {
                acc += row[k] * w[k];
            }
            if (bias) {
                acc += bias[o];
            }
            output[b * p->out_features + o] = tm_clamp_f32(acc, p->act_min, p->act_max);
        }
    }
    return TM_OK;
}
