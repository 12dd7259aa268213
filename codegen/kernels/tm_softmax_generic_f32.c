#include <math.h>

#include "tm_nn.h"

int tm_softmax_generic_f32(const tm_softmax_f32_params *p, const float *input, float *output)
{
    for (int32_t row = 0; row < p->outer; ++row) {
        const float *x = input + row * p->depth;
        float *y = output + row * p->depth;
        float max_in_row = x[0];
        for (int32_t c = 1; c < p->depth; ++c) {
            max_in_row = TM_MAX(max_in_row, x[c]);
        }
        float sum = 0.0f;
        for (int32_t c = 0; c < p->depth; ++c) {
            y[c] = expf((x[c] - max_in_row) * p->beta);
            sum += y[c];
        }
        for (int32_t c = 0; c < p->depth; ++c) {
            y[c] /= sum;
        }
    }
    return TM_OK;
}
