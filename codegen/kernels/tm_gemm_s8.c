#include "tm_gemm_s8.h"

/* The GEMM loops of tm_gemm_s8.h, shared by the DSP conv and fully connected kernels. */

/* Every output channel of four interleaved columns, whose outputs are `stride` bytes apart
 * from y (the next pixel's same channel). */
void tm_gemm_4_columns(const uint32_t *x, const int8_t *weights, int32_t depth4,
                       int32_t channels, const tm_gemm_output *o, int8_t *y,
                       int32_t stride)
{
    const int32_t groups = depth4 / 4;
    const int32_t blocked = channels / TM_GEMM_BLOCK * TM_GEMM_BLOCK;
    int32_t oc = 0;
    if (o->common) {
        const int32_t off = o->output_offset;
        int8_t *y1 = y + stride, *y2 = y + 2 * stride, *y3 = y + 3 * stride;
        const int8_t *block = weights;
        for (; oc < blocked; ++oc) {
            const int32_t t = o->offset_terms[oc];
            int32_t acc[4] = {t, t, t, t};
            tm_dot_4x1(x, block + (oc & 3) * 4, groups, acc);
            if ((oc & 3) == 3) {
                block += TM_GEMM_BLOCK * depth4;
            }
            const int32_t m = o->multiplier[oc], right = -o->shift[oc];
            const int32_t half = 1 << (right - 1);
            y[oc] = (int8_t)tm_ssat(tm_gemm_right(acc[0], m, half, right) + off, 8);
            y1[oc] = (int8_t)tm_ssat(tm_gemm_right(acc[1], m, half, right) + off, 8);
            y2[oc] = (int8_t)tm_ssat(tm_gemm_right(acc[2], m, half, right) + off, 8);
            y3[oc] = (int8_t)tm_ssat(tm_gemm_right(acc[3], m, half, right) + off, 8);
        }
    }
    for (; oc < channels; ++oc) {
        const int32_t t = o->offset_terms[oc];
        int32_t acc[4] = {t, t, t, t};
        if (oc < blocked) {
            tm_dot_4x1(x, tm_gemm_row(weights, depth4, oc), groups, acc);
        } else {
            for (int32_t c = 0; c < 4; ++c) {
                acc[c] = tm_dot_row(x + 2 * c, 8, weights + oc * depth4, groups, t);
            }
        }
        tm_store4(o, oc, acc[0], acc[1], acc[2], acc[3], y + oc, stride);
    }
}

/* Every output channel of one column (2 words per group), written to y. */
void tm_gemm_1_column(const uint32_t *x, const int8_t *weights, int32_t depth4,
                      int32_t channels, const tm_gemm_output *o, int8_t *y)
{
    const int32_t groups = depth4 / 4;
    const int32_t blocked = channels / TM_GEMM_BLOCK * TM_GEMM_BLOCK;
    int32_t oc = 0;
    for (; oc < blocked; oc += TM_GEMM_BLOCK) {
        int32_t acc[4] = {o->offset_terms[oc], o->offset_terms[oc + 1], o->offset_terms[oc + 2],
                          o->offset_terms[oc + 3]};
        tm_dot_1x4(x, weights + oc * depth4, groups, acc);
        for (int32_t c = 0; c < 4; ++c) {
            y[oc + c] = tm_store1(o, oc + c, acc[c]);
        }
    }
    for (; oc < channels; ++oc) {
        y[oc] = tm_store1(o, oc, tm_dot_row(x, 2, weights + oc * depth4, groups,
                                            o->offset_terms[oc]));
    }
}
