#include "tm_fixedpoint.h"
#include "tm_nn.h"

int tm_logistic_generic_s8(const tm_logistic_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t value = input[i] - p->input_zero_point;
        if (value <= -p->input_range_radius) {
            output[i] = INT8_MIN;
        } else if (value >= p->input_range_radius) {
            output[i] = INT8_MAX;
        } else {
            const int32_t q4 = tm_requantize(value, p->input_multiplier, p->input_shift);
            /* Q0 to steps of 1/256 (a shift by 31 - 8), zero point -128 */
            const int32_t out = tm_rdbpot(tm_fx_logistic(q4, 4), 23) - 128;
            output[i] = tm_clamp_s8(out, INT8_MIN, INT8_MAX);
        }
    }
    return TM_OK;
}
