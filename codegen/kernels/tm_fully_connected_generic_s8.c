#include "tm_nn.h"

int tm_fully_connected_generic_s8(const tm_fully_connected_s8_params *p, const int8_t *input,
                                  const int8_t *weights, const int32_t *bias,
                                  const int32_t *multiplier, const int32_t *shift,
                                  int8_t *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *row = input + b * p->in_features;
        for (int32_t o = 0; o < p->out_features; ++o) {
            const int8_t *w = weights + o * p->in_features;
            int32_t acc = bias ? bias[o] : 0;
            for (int32_t k = 0; k < p->in_features; ++k) {
                acc += (row[k] + p->input_offset) * w[k];
            }
            acc = tm_requantize(acc, multiplier[o], shift[o]) + p->output_offset;
            output[b * p->out_features + o] = tm_clamp_s8(acc, p->act_min, p->act_max);
        }
    }
    return TM_OK;
}
