/* The GEMM core of the DSP kernels on ternary weights: no weight multiply, one USADA8 per
 * four products and sign plane.
 *
 * A ternary weight t is (s1 + s2) / 2 with s1, s2 in {-1, +1} (t = +1: both +1; t = -1: both
 * -1; t = 0: s1 = +1, s2 = -1). Columns hold inputs as offset-binary bytes u = x + 128, four
 * per word; a sign plane is a byte mask B (0x00 for +1, 0xFF for -1), so USADA8(u, B) sums u
 * where the sign is +1 and 255 - u where it is -1. Over both planes, per input:
 *   t = +1: 2u      t = -1: 510 - 2u      t = 0: 255
 * so the sum A of both USADA8s over a row is 2 sum(t u) + K, K = 510 n(-1) + 255 n(0) (the
 * padding of the row to a multiple of 4 counts as zeros), and with u = x + 128,
 *   sum(t (x + input_offset)) = (A >> 1) + (input_offset - 128) sum(t) - (K >> 1)
 * exactly (A and K have one parity). The constant is folded per channel with the bias
 * (tinyml/kernels/gemm_s8t2.py), doubled: the USADA8 sums start from offset_terms =
 * 2 (bias + (input_offset - 128) sum(t) - (K >> 1)) - (K & 1) and end at twice the int8
 * accumulator, which is what the output stage's SMMULR wants (tm_t2_right); halved, where the
 * channel's weights are +-q with q != 1, without the bias: then acc = q * sum + bias.
 *
 * The sign planes of a group of four weights come from its byte of 2-bit codes
 * (tinyml/dtypes.py) through one 256-entry table of mask pairs. Codes are laid out as the
 * int8 GEMM's weights, one byte per group instead of four: output channels in blocks of 4
 * whose group bytes alternate (4 bytes per group), the last out_c % 4 channels as plain rows. */
#ifndef TM_GEMM_S8T2_H
#define TM_GEMM_S8T2_H

#include "tm_gemm_s8.h"
#include "tm_ternary.h"

/* (s1 mask, s2 mask) of every byte of four 2-bit codes. */
extern const uint32_t tm_t2_masks[256][2];

/* count int8 values (a multiple of 4) to offset-binary words, `step` words from one group to
 * the next (1: one column; 4: four interleaved). */
static inline void tm_column_u8(uint32_t *column, const int8_t *x, int32_t count, int32_t step)
{
    for (int32_t i = 0; i < count; i += 4) {
        *column = tm_load_u32(x + i) ^ 0x80808080u;
        column += step;
    }
}

/* count int8 values to a column of whole groups: the last group's missing bytes meet zero
 * weights, so any value does; 0x80 (x = 0) keeps them defined. */
static inline void tm_column_padded_u8(uint32_t *column, const int8_t *x, int32_t count,
                                       int32_t step)
{
    const int32_t whole = count / 4 * 4;
    tm_column_u8(column, x, whole, step);
    if (whole < count) {
        int8_t group[4] = {0, 0, 0, 0};
        for (int32_t i = whole; i < count; ++i) {
            group[i - whole] = x[i];
        }
        tm_column_u8(column + whole / 4 * step, group, 4, step);
    }
}

/* count int8 values to one column (step 1) of whole groups, four words a turn: the fully
 * connected kernel's conversion, which its few output rows barely amortize. */
static inline void tm_row_padded_u8(uint32_t *column, const int8_t *x, int32_t count)
{
    const int32_t quads = count / 16 * 16;
    for (int32_t i = 0; i < quads; i += 16, column += 4) {
        column[0] = tm_load_u32(x + i) ^ 0x80808080u;
        column[1] = tm_load_u32(x + i + 4) ^ 0x80808080u;
        column[2] = tm_load_u32(x + i + 8) ^ 0x80808080u;
        column[3] = tm_load_u32(x + i + 12) ^ 0x80808080u;
    }
    tm_column_padded_u8(column, x + quads, count - quads, 1);
}

/* TFLite's rounding doubling high multiply and rounding right shift of acc from twice it,
 * acc2 = 2 acc (tm_gemm_right without its doubling). */
static inline int32_t tm_t2_right(uint32_t acc2, int32_t multiplier, int32_t half,
                                  int32_t right)
{
    const int32_t x = tm_smmulr((int32_t)acc2, multiplier);
    return (x + half + (x >> 31)) >> right;
}

/* The gain and bias of the output channels: acc = sum * gain + bias where the weights are
 * +-q with some q != 1 (gain != NULL), else acc = sum, the bias in the terms (bias NULL):
 * tm_trit_finish. */
typedef struct {
    const int32_t *gain, *bias;
} tm_t2_weights;

void tm_gemm_t2_4_columns(const uint32_t *x, const uint8_t *codes, int32_t groups,
                          int32_t channels, const tm_gemm_output *o, const tm_t2_weights *w,
                          int8_t *y, int32_t stride);
void tm_gemm_t2_1_column(const uint32_t *x, const uint8_t *codes, int32_t groups,
                         int32_t channels, const tm_gemm_output *o, const tm_t2_weights *w,
                         int8_t *y);

#endif
