#include "tm_nn.h"

static inline float one(const tm_binary_f32_params *p, float x, float y)
{
    return tm_clamp_f32(x / y, p->act_min, p->act_max);
}

int tm_div_generic_f32(const tm_binary_f32_params *p, const float *input1, const float *input2,
                       float *output)
{
    const tm_broadcast4d *l = &p->loops;
    const int32_t rows = tm_broadcast_rows(l);
    tm_broadcast_walk w = {{0, 0, 0}, 0, 0};
    for (int32_t r = 0; r < rows; ++r) {
        const float *a = input1 + w.offset1;
        const float *b = input2 + w.offset2;
        for (int32_t i = 0; i < l->dims[3]; ++i) {
            *output++ = one(p, a[i * l->in1_strides[3]], b[i * l->in2_strides[3]]);
        }
        tm_broadcast_next_row(l, &w);
    }
    return TM_OK;
}
