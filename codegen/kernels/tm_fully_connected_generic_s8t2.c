#include "tm_ternary.h"

/* tm_fully_connected_generic_s8 on ternary weights: [out, in] signs packed in order. */
int tm_fully_connected_generic_s8t2(const tm_fully_connected_s8_params *p, const int8_t *input,
                                    const uint8_t *weights, const int32_t *gain,
                                    const int32_t *bias, const int32_t *multiplier,
                                    const int32_t *shift, int8_t *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *row = input + b * p->in_features;
        for (int32_t o = 0; o < p->out_features; ++o) {
            const int32_t w0 = o * p->in_features;
            int32_t sum = 0;
            for (int32_t k = 0; k < p->in_features; ++k) {
                sum += tm_trit_term(row[k] + p->input_offset, tm_trit_code(weights, w0 + k));
            }
            const int32_t acc = tm_trit_finish(sum, gain, bias, o);
            output[b * p->out_features + o] = tm_clamp_s8(
                tm_requantize(acc, multiplier[o], shift[o]) + p->output_offset, p->act_min,
                p->act_max);
        }
    }
    return TM_OK;
}
