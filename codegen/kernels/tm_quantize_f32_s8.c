#include <math.h>

#include "tm_nn.h"

int tm_quantize_f32_s8(const tm_quantize_f32_s8_params *p, const float *input, int8_t *output)
{
    /* saturate while still a float: converting an out-of-range float to int is undefined */
    const float lo = (float)(INT8_MIN - p->zero_point);
    const float hi = (float)(INT8_MAX - p->zero_point);
    for (int32_t i = 0; i < p->size; ++i) {
        const float q = roundf(input[i] / p->scale);   /* half away from zero, as TFLM */
        output[i] = (int8_t)((int32_t)tm_clamp_f32(q, lo, hi) + p->zero_point);
    }
    return TM_OK;
}
