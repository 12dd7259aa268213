#include "tm_nn.h"

/* int16 arithmetic of TFLite's reference HardSwish (mirrored in tinyml/ops/hard_swish.py). */

static int16_t saturating_left_shift16(int16_t x, int amount)
{
    const int32_t shifted = (int32_t)x * ((int32_t)1 << amount);
    return (int16_t)(shifted > INT16_MAX ? INT16_MAX : (shifted < INT16_MIN ? INT16_MIN : shifted));
}

/* gemmlowp's SaturatingRoundingDoublingHighMul for int16. */
static int16_t srdhm16(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    const int32_t ab = (int32_t)a * b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return (int16_t)((ab + nudge) / (1 << 15));
}

/* SaturatingDoublingHighMul: as srdhm16 but rounding towards zero. */
static int16_t sdhm16(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    return (int16_t)(((int32_t)a * b) / (1 << 15));
}

/* gemmlowp's RoundingDivideByPOT on int16 (the mask is an int16 too). */
static int16_t rdbpot16(int16_t x, int exponent)
{
    const int16_t mask = (int16_t)((1LL << exponent) - 1);
    const int16_t threshold = (int16_t)((mask >> 1) + (x < 0 ? 1 : 0));
    return (int16_t)((x >> exponent) + ((x & mask) > threshold ? 1 : 0));
}

int tm_hard_swish_generic_s8(const tm_hard_swish_s8_params *p, const int8_t *input,
                             int8_t *output)
{
    const int32_t exponent = p->reluish_exponent;
    for (int32_t i = 0; i < p->size; ++i) {
        const int16_t hires = (int16_t)((input[i] - p->input_zero_point) * (1 << 7));
        const int16_t on_preshift_output_scale = srdhm16(hires, p->output_multiplier);
        /* hires rescaled so that 3.0 is 32768 (saturating): left shifts around the multiply
         * keep saturation from the first shift out of the result */
        int16_t reluish = hires;
        if (exponent > 0) {
            reluish = saturating_left_shift16(reluish, exponent - 1);
        }
        reluish = srdhm16(reluish, p->reluish_multiplier);
        if (exponent > 0) {
            reluish = saturating_left_shift16(reluish, 1);
        }
        if (exponent < 0) {
            reluish = rdbpot16(reluish, -exponent);
        }
        reluish = (int16_t)((reluish + (1 << 15)) >> 1); /* [-1, 1] -> [0, 1] */
        int16_t out = rdbpot16(sdhm16(reluish, on_preshift_output_scale), -p->output_exponent);
        out = (int16_t)(out + p->output_zero_point);
        output[i] = tm_clamp_s8(out, INT8_MIN, INT8_MAX);
    }
    return TM_OK;
}
