#include "tm_nn.h"

/* TFLM's int8 SUB: ADD's rescaling with a difference in the middle. */
static inline int8_t one(const tm_add_s8_params *p, int8_t x, int8_t y)
{
    const int32_t a = tm_requantize((x + p->input1_offset) * (1 << p->left_shift),
                                    p->input1_multiplier, p->input1_shift);
    const int32_t b = tm_requantize((y + p->input2_offset) * (1 << p->left_shift),
                                    p->input2_multiplier, p->input2_shift);
    const int32_t out = tm_requantize(a - b, p->output_multiplier, p->output_shift) +
                        p->output_offset;
    return tm_clamp_s8(out, p->act_min, p->act_max);
}

int tm_sub_generic_s8(const tm_add_s8_params *p, const int8_t *input1, const int8_t *input2,
                      int8_t *output)
{
    const tm_broadcast4d *l = &p->loops;
    const int32_t rows = tm_broadcast_rows(l);
    tm_broadcast_walk w = {{0, 0, 0}, 0, 0};
    for (int32_t r = 0; r < rows; ++r) {
        const int8_t *a = input1 + w.offset1;
        const int8_t *b = input2 + w.offset2;
        for (int32_t i = 0; i < l->dims[3]; ++i) {
            *output++ = one(p, a[i * l->in1_strides[3]], b[i * l->in2_strides[3]]);
        }
        tm_broadcast_next_row(l, &w);
    }
    return TM_OK;
}
