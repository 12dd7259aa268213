#include "tm_nn.h"

int tm_dequantize_s8_f32(const tm_dequantize_s8_f32_params *p, const int8_t *input,
                         float *output)
{
    /* TFLM multiplies in double and rounds to float; the product of a float scale and a
     * 9-bit integer is exact in either, so one float multiply rounds the same way. */
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (float)(input[i] - p->zero_point) * p->scale;
    }
    return TM_OK;
}
