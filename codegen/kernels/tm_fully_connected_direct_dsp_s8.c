#include "tm_gemm_s8.h"

/* Fully connected without scratch: tm_fully_connected_dsp_s8's pair layout and output stage,
 * but each group of four inputs is extended to int16 lanes where it is read (one load and two
 * SXTB16 per group of every block of four rows) instead of once into a column in scratch:
 * 17 instructions for 16 products where the column takes 15. The last inputs short of a
 * group go through a zero-padded copy on the stack; their weights are padded with zeros. */
int32_t tm_fully_connected_direct_dsp_s8_get_buffer_size(const tm_fully_connected_s8_params *p)
{
    (void)p;
    return 0;
}

/* One input row (raw int8, `groups` whole groups) against a block of two row pairs, as
 * tm_dot_pairs_1x4 (tm_gemm_s8.h). acc = {s0, t0, s1, t1}. */
static inline void dot_pairs_direct(const int8_t *x, const int8_t *w, int32_t groups,
                                    uint32_t acc[4])
{
#if TM_DSP_ACLE
    uint32_t s0 = acc[0], t0 = acc[1], s1 = acc[2], t1 = acc[3];
    uint32_t xa, xb, w0, w1, b;
    if (groups > 0) {
        __asm__ volatile(
            "1:\n\t"
            "ldr %[xa], [%[x]], #4\n\t"
            "sxtb16 %[xb], %[xa], ror #8\n\t"
            "sxtb16 %[xa], %[xa]\n\t"
            TM_PAIRS_GROUP_BODY
            "subs %[n], %[n], #1\n\t"
            "bne 1b\n\t"
            : [s0] "+r"(s0), [t0] "+r"(t0), [s1] "+r"(s1), [t1] "+r"(t1), [x] "+r"(x),
              [w] "+r"(w), [n] "+r"(groups), [xa] "=&r"(xa), [xb] "=&r"(xb), [w0] "=&r"(w0),
              [w1] "=&r"(w1), [b] "=&r"(b)
            :
            : "cc", "memory");
    }
    acc[0] = s0;
    acc[1] = t0;
    acc[2] = s1;
    acc[3] = t1;
#else
    for (int32_t g = 0; g < groups; ++g) {
        const uint32_t v = tm_load_u32(x + 4 * g);
        const uint32_t lanes[2] = {tm_sxtb16(v), tm_sxtb16_ror8(v)};
        tm_pairs_group(lanes, w + 16 * g, acc);
    }
#endif
}

/* One row of raw int8 against one plain weight row (4 bytes per group). */
static inline int32_t dot_row_direct(const int8_t *x, const int8_t *w, int32_t groups, int32_t acc)
{
    for (int32_t g = 0; g < groups; ++g) {
        const uint32_t v = tm_load_u32(x + 4 * g), w0 = tm_load_u32(w + 4 * g);
        acc = tm_smlad(tm_sxtb16_ror8(w0), tm_sxtb16_ror8(v), tm_smlad(tm_sxtb16(w0), tm_sxtb16(v), acc));
    }
    return acc;
}

int tm_fully_connected_direct_dsp_s8(const tm_fully_connected_s8_params *p, const int8_t *input,
                                     const int8_t *weights, const int32_t *offset_terms,
                                     const int32_t *multiplier, const int32_t *shift,
                                     int8_t *output)
{
    const int32_t depth4 = (p->in_features + 3) / 4 * 4, whole = p->in_features / 4;
    const int32_t channels = p->out_features;
    const int32_t blocked = channels / TM_GEMM_BLOCK * TM_GEMM_BLOCK;
    const tm_gemm_output o = tm_gemm_output_of(offset_terms, multiplier, shift, channels,
                                               p->output_offset, p->act_min, p->act_max);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * p->in_features;
        int8_t *y = output + b * channels;
        int8_t tail[4] = {0, 0, 0, 0};   /* the inputs short of a group, zero-padded */
        int32_t sum = 0;
        for (int32_t i = 0; i < p->in_features; ++i) {
            sum += x[i];
        }
        for (int32_t i = whole * 4; i < p->in_features; ++i) {
            tail[i - whole * 4] = x[i];
        }
        const uint32_t sum128 = (uint32_t)sum << 7;
        for (int32_t oc = 0; oc < blocked; oc += TM_GEMM_BLOCK) {
            const int32_t *terms = offset_terms + oc;
            uint32_t acc[4] = {(uint32_t)terms[0] - sum128 + ((uint32_t)terms[1] << 8),
                               (uint32_t)terms[1],
                               (uint32_t)terms[2] - sum128 + ((uint32_t)terms[3] << 8),
                               (uint32_t)terms[3]};
            const int8_t *w = weights + oc * depth4;
            dot_pairs_direct(x, w, whole, acc);
            if (whole * 4 < depth4) {
                dot_pairs_direct(tail, w + whole * 16, 1, acc);
            }
            y[oc] = tm_store1(&o, oc, tm_dsp_s32(acc[0] - (acc[1] << 8)));
            y[oc + 1] = tm_store1(&o, oc + 1, tm_dsp_s32(acc[1]));
            y[oc + 2] = tm_store1(&o, oc + 2, tm_dsp_s32(acc[2] - (acc[3] << 8)));
            y[oc + 3] = tm_store1(&o, oc + 3, tm_dsp_s32(acc[3]));
        }
        for (int32_t oc = blocked; oc < channels; ++oc) {
            const int8_t *w = weights + oc * depth4;
            int32_t acc = dot_row_direct(x, w, whole, offset_terms[oc]);
            if (whole * 4 < depth4) {
                acc = dot_row_direct(tail, w + whole * 4, 1, acc);
            }
            y[oc] = tm_store1(&o, oc, acc);
        }
    }
    return TM_OK;
}
