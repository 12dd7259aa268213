#include "tm_nn.h"

static inline int8_t one(const tm_mul_s8_params *p, int8_t x, int8_t y)
{
    const int32_t product = (x + p->input1_offset) * (y + p->input2_offset);
    const int32_t out = tm_requantize(product, p->output_multiplier, p->output_shift) +
                        p->output_offset;
    return tm_clamp_s8(out, p->act_min, p->act_max);
}

int tm_mul_generic_s8(const tm_mul_s8_params *p, const int8_t *input1, const int8_t *input2,
                      int8_t *output)
{
    const tm_broadcast4d *l = &p->loops;
    for (int32_t i0 = 0; i0 < l->dims[0]; ++i0) {
        for (int32_t i1 = 0; i1 < l->dims[1]; ++i1) {
            for (int32_t i2 = 0; i2 < l->dims[2]; ++i2) {
                const int8_t *a = input1 + i0 * l->in1_strides[0] + i1 * l->in1_strides[1] +
                                  i2 * l->in1_strides[2];
                const int8_t *b = input2 + i0 * l->in2_strides[0] + i1 * l->in2_strides[1] +
                                  i2 * l->in2_strides[2];
                for (int32_t i3 = 0; i3 < l->dims[3]; ++i3) {
                    *output++ = one(p, a[i3 * l->in1_strides[3]], b[i3 * l->in2_strides[3]]);
                }
            }
        }
    }
    return TM_OK;
}
