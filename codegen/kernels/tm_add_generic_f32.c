#include "tm_nn.h"

static inline float one(const tm_binary_f32_params *p, float x, float y)
{
    return tm_clamp_f32(x + y, p->act_min, p->act_max);
}

int tm_add_generic_f32(const tm_binary_f32_params *p, const float *input1, const float *input2,
                       float *output)
{
    const tm_broadcast4d *l = &p->loops;
    for (int32_t i0 = 0; i0 < l->dims[0]; ++i0) {
        for (int32_t i1 = 0; i1 < l->dims[1]; ++i1) {
            for (int32_t i2 = 0; i2 < l->dims[2]; ++i2) {
                const float *a = input1 + i0 * l->in1_strides[0] + i1 * l->in1_strides[1] +
                                 i2 * l->in1_strides[2];
                const float *b = input2 + i0 * l->in2_strides[0] + i1 * l->in2_strides[1] +
                                 i2 * l->in2_strides[2];
                for (int32_t i3 = 0; i3 < l->dims[3]; ++i3) {
                    *output++ = one(p, a[i3 * l->in1_strides[3]], b[i3 * l->in2_strides[3]]);
                }
            }
        }
    }
    return TM_OK;
}
