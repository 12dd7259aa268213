#include "tm_fixedpoint.h"
#include "tm_nn.h"

/* exp(diff) in Q0 for one input difference to the row maximum (diff >= diff_min). */
static int32_t exp_of_difference(const tm_softmax_s8_params *p, int32_t diff)
{
    /* MultiplyByQuantizedMultiplierGreaterThanOne: the shift is a left shift */
    const int32_t rescaled =
        tm_srdhm((int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
    return tm_fx_exp_on_negative_values(rescaled, TM_SOFTMAX_SCALED_DIFF_INTEGER_BITS);
}

int tm_softmax_generic_s8(const tm_softmax_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t row = 0; row < p->outer; ++row) {
        const int8_t *x = input + row * p->depth;
        int8_t *y = output + row * p->depth;
        int32_t max_in_row = INT8_MIN;
        for (int32_t c = 0; c < p->depth; ++c) {
            max_in_row = TM_MAX(max_in_row, x[c]);
        }
        int32_t sum_of_exps = 0; /* Q12.19 */
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = x[c] - max_in_row;
            if (diff >= p->diff_min) {
                sum_of_exps = tm_fx_add(
                    sum_of_exps, tm_fx_rescale(exp_of_difference(p, diff), 0,
                                               TM_SOFTMAX_ACCUMULATION_INTEGER_BITS));
            }
        }
        int num_bits_over_unit;
        const int32_t scale = tm_fx_reciprocal(sum_of_exps, TM_SOFTMAX_ACCUMULATION_INTEGER_BITS,
                                               &num_bits_over_unit);
        const int32_t exponent = num_bits_over_unit + 31 - 8;
        /* TFLM aborts once the sum of exps reaches 512 (exponent > 31): every probability is
         * then below 1/512 */
        const int row_underflows = exponent > 31;
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = x[c] - max_in_row;
            if (diff >= p->diff_min && !row_underflows) {
                const int32_t out =
                    tm_rdbpot(tm_srdhm(scale, exp_of_difference(p, diff)), exponent) - 128;
                y[c] = tm_clamp_s8(out, INT8_MIN, INT8_MAX);
            } else {
                y[c] = INT8_MIN;
            }
        }
    }
    return TM_OK;
}
