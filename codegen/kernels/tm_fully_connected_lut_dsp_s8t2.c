#include "tm_gemm_s8t2.h"

/* Fully connected on ternary weights by table lookup (T-MAC): for a group of four inputs a
 * table holds the sums of their offset-added values v0..v3 under all 81 sign patterns, so
 * one output channel's four products are one table read and one add, whatever the channel:
 * the tables are shared by every output channel, no weight is multiplied.
 *
 * A group's signs are one byte, the pattern's index 27 (t0 + 1) + 9 (t1 + 1) + 3 (t2 + 1) +
 * (t3 + 1) (tinyml/kernels/fully_connected_lut_dsp_s8t2.py). Tables are built for a chunk of
 * four groups at once, interleaved: entry (index, group g) is int16 number 4 index + g, so a
 * read is LDRSH [table + 2 g, index, LSL #3] and one entry of all four groups is two words,
 * each two groups' lanes made by one SADD16. |entry| <= 4 * 255 fits int16.
 *
 * Codes come in chunks: blocks of 4 channels hold, per chunk, 16 bytes [group][channel]; the
 * last out % 4 channels, 4 bytes per chunk each; rows are padded to whole chunks with the
 * all-zero pattern (index 40), whose entry is 0. Each channel adds a chunk's reads to its
 * int32 accumulator in scratch. Scratch: the accumulators [out], then the table. */
#define TM_T2_LUT_CHUNK 4
#define TM_T2_LUT_PATTERNS 81
#define TM_T2_LUT_BYTES (TM_T2_LUT_PATTERNS * TM_T2_LUT_CHUNK * (int32_t)sizeof(int16_t))

int32_t tm_fully_connected_lut_dsp_s8t2_get_buffer_size(const tm_fully_connected_s8_params *p)
{
    return p->out_features * (int32_t)sizeof(int32_t) + TM_T2_LUT_BYTES;
}

/* -v, v or 0 in both lanes of a pair, for a sign s. */
static inline uint32_t tm_t2_signed(int32_t s, uint32_t v)
{
    return s < 0 ? tm_ssub16(0, v) : (s > 0 ? v : 0);
}

/* The interleaved table of the chunk of 16 inputs x[0..count) (0 past them). Entries
 * 9 r + 3 c' + d' (r for the signs of inputs 0 and 1) of groups (0, 1) and (2, 3) as lane
 * pairs: for each c', the three sums of inputs 2 and 3 stay in registers, and each r adds
 * its pair of sums to them into six consecutive words. */
static void tm_t2_lut_build(const int8_t *x, int32_t count, int32_t offset, uint32_t *table)
{
    int32_t v[4 * TM_T2_LUT_CHUNK];
    for (int32_t i = 0; i < 4 * TM_T2_LUT_CHUNK; ++i) {
        v[i] = i < count ? x[i] + offset : 0;
    }
    /* input k of groups (0, 1) and of groups (2, 3), as int16 lane pairs */
    uint32_t lo[4], hi[4];
    for (int32_t k = 0; k < 4; ++k) {
        lo[k] = tm_lanes16(v[k], v[4 + k]);
        hi[k] = tm_lanes16(v[8 + k], v[12 + k]);
    }
    uint32_t o[9][2];   /* the sums of inputs 0 and 1 under signs (a, b), r = 3 (a + 1) + b + 1 */
    for (int32_t a = -1, r = 0; a <= 1; ++a) {
        for (int32_t b = -1; b <= 1; ++b, ++r) {
            o[r][0] = tm_sadd16(tm_t2_signed(a, lo[0]), tm_t2_signed(b, lo[1]));
            o[r][1] = tm_sadd16(tm_t2_signed(a, hi[0]), tm_t2_signed(b, hi[1]));
        }
    }
    for (int32_t c = -1; c <= 1; ++c) {
        const uint32_t clo = tm_t2_signed(c, lo[2]), chi = tm_t2_signed(c, hi[2]);
        const uint32_t m_lo = tm_ssub16(clo, lo[3]), m_hi = tm_ssub16(chi, hi[3]);
        const uint32_t p_lo = tm_sadd16(clo, lo[3]), p_hi = tm_sadd16(chi, hi[3]);
        uint32_t *e = table + 6 * (c + 1);
        for (int32_t r = 0; r < 9; ++r, e += 18) {
            const uint32_t olo = o[r][0], ohi = o[r][1];
            e[0] = tm_sadd16(olo, m_lo);
            e[1] = tm_sadd16(ohi, m_hi);
            e[2] = tm_sadd16(olo, clo);
            e[3] = tm_sadd16(ohi, chi);
            e[4] = tm_sadd16(olo, p_lo);
            e[5] = tm_sadd16(ohi, p_hi);
        }
    }
}

/* One channel's reads of a chunk: its 4 codes `step` bytes apart. */
static inline int32_t tm_t2_lut_reads(const int16_t *table, const uint8_t *c, int32_t step)
{
    return table[4 * c[0]] + table[4 * c[step] + 1] + table[4 * c[2 * step] + 2]
           + table[4 * c[3 * step] + 3];
}

/* A block's reads of a chunk, added to acc[0..3]: c holds [group][channel] bytes. In
 * assembly on DSP cores: one base register per group makes each read one LDRSH with the
 * code scaled by 8 (the compiler recomputes the address instead). */
static inline void tm_t2_lut_block(const int16_t *table, const uint8_t *c, int32_t *acc)
{
#if TM_DSP_ACLE
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int16_t *t1 = table + 1, *t2 = table + 2, *t3 = table + 3;
    int32_t e;
#define TM_T2_LUT_READ(a, offset, t)                                                     \
    "ldrb %[e], [%[c], #" #offset "]\n\t"                                                \
    "ldrsh %[e], [%[" #t "], %[e], lsl #3]\n\t"                                          \
    "add %[" #a "], %[" #a "], %[e]\n\t"
#define TM_T2_LUT_CHANNEL(a, ch)                                                         \
    TM_T2_LUT_READ(a, ch, t0) TM_T2_LUT_READ(a, 4 + ch, t1) TM_T2_LUT_READ(a, 8 + ch, t2)  \
    TM_T2_LUT_READ(a, 12 + ch, t3)
    __asm__(TM_T2_LUT_CHANNEL(a0, 0) TM_T2_LUT_CHANNEL(a1, 1) TM_T2_LUT_CHANNEL(a2, 2)
            TM_T2_LUT_CHANNEL(a3, 3)
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [e] "=&r"(e)
            : [c] "r"(c), [t0] "r"(table), [t1] "r"(t1), [t2] "r"(t2), [t3] "r"(t3)
            : "memory");
#undef TM_T2_LUT_CHANNEL
#undef TM_T2_LUT_READ
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
#else
    for (int32_t ch = 0; ch < 4; ++ch) {
        acc[ch] += tm_t2_lut_reads(table, c + ch, TM_GEMM_BLOCK);
    }
#endif
}

int tm_fully_connected_lut_dsp_s8t2(const tm_fully_connected_s8_params *p,
                                    const int8_t *input, const uint8_t *codes,
                                    const int32_t *offset_terms, const int32_t *gain,
                                    const int32_t *bias, const int32_t *multiplier,
                                    const int32_t *shift, int8_t *output, void *scratch)
{
    const int32_t n_in = p->in_features, n_out = p->out_features;
    const int32_t chunks = (n_in + 4 * TM_T2_LUT_CHUNK - 1) / (4 * TM_T2_LUT_CHUNK);
    const int32_t blocked = n_out / TM_GEMM_BLOCK * TM_GEMM_BLOCK;
    const int32_t chunk_bytes = 4 * TM_T2_LUT_CHUNK;   /* a block's codes of one chunk */
    const tm_gemm_output o = tm_gemm_output_of(offset_terms, multiplier, shift, n_out,
                                               p->output_offset, p->act_min, p->act_max);
    const tm_t2_weights w = {gain, bias};
    int32_t *acc = (int32_t *)scratch;
    uint32_t *table = (uint32_t *)(acc + n_out);
    const int16_t *entries = (const int16_t *)table;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * n_in;
        for (int32_t oc = 0; oc < n_out; ++oc) {
            acc[oc] = offset_terms[oc];
        }
        for (int32_t k = 0; k < chunks; ++k) {
            const int32_t first = 4 * TM_T2_LUT_CHUNK * k;
            tm_t2_lut_build(x + first, TM_MIN(4 * TM_T2_LUT_CHUNK, n_in - first),
                            p->input_offset, table);
            const uint8_t *c = codes + k * chunk_bytes;
            for (int32_t oc = 0; oc < blocked; oc += TM_GEMM_BLOCK, c += chunks * chunk_bytes) {
                tm_t2_lut_block(entries, c, acc + oc);
            }
            const uint8_t *row = codes + blocked * chunks * TM_T2_LUT_CHUNK + k * TM_T2_LUT_CHUNK;
            for (int32_t oc = blocked; oc < n_out; ++oc, row += chunks * TM_T2_LUT_CHUNK) {
                acc[oc] += tm_t2_lut_reads(entries, row, 1);
            }
        }
        int8_t *y = output + b * n_out;
        for (int32_t oc = 0; oc < n_out; ++oc) {
            y[oc] = tm_store1(&o, oc, tm_t2_finish(&w, oc, acc[oc]));
        }
    }
    return TM_OK;
}
