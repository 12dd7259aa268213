#include "tm_gemm_s8t2.h"

/* Fully connected on ternary weights by table lookup (T-MAC): for a group of four inputs a
 * table holds the sums of their offset-added values v0..v3 under all 81 sign patterns, so
 * one output channel's four products are one table read and one add, whatever the channel:
 * the tables are shared by every output channel, no weight is multiplied.
 *
 * A group's signs are one byte, the pattern's index 27 (t0 + 1) + 9 (t1 + 1) + 3 (t2 + 1) +
 * (t3 + 1), plus 81 (k mod 3) in chunk k (tinyml/kernels/gemm_s8t2.py pack_lut_codes). Tables are built for a chunk of
 * four groups at once, interleaved: entry (index, group g) is int16 number 4 index + g, so a
 * read is LDRSH [table + 2 g, index, LSL #3] and one entry of all four groups is two words,
 * each two groups' lanes made by one SADD16. |entry| <= 4 * 255 fits int16.
 *
 * Codes come in chunks: blocks of 4 channels hold, per chunk, 16 bytes [group][channel]; the
 * last out % 4 channels, 4 bytes per chunk each; rows are padded to whole chunks with the
 * all-zero pattern (index 40), whose entry is 0. The tables of TM_T2_LUT_TABLES chunks are
 * built at once, then each channel adds their reads to its int32 accumulator in scratch
 * (started from offset_terms by the first pass).
 * Scratch: the accumulators [out], then the tables. */
#define TM_T2_LUT_CHUNK 4
#define TM_T2_LUT_TABLES 3   /* chunks whose tables a pass over the channels reads */
#define TM_T2_LUT_PATTERNS 81
#define TM_T2_LUT_BYTES (TM_T2_LUT_PATTERNS * TM_T2_LUT_CHUNK * (int32_t)sizeof(int16_t))

int32_t tm_fully_connected_lut_dsp_s8t2_get_buffer_size(const tm_fully_connected_s8_params *p)
{
    return p->out_features * (int32_t)sizeof(int32_t) + TM_T2_LUT_TABLES * TM_T2_LUT_BYTES;
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
    /* input k of groups (0, 1) and of groups (2, 3), as int16 lane pairs */
    uint32_t lo[4], hi[4];
    if (count == 4 * TM_T2_LUT_CHUNK) {   /* a whole chunk: four words, bytes paired by lane */
        const uint32_t offsets = tm_lanes16(offset, offset);
        const uint32_t w0 = tm_load_u32(x), w1 = tm_load_u32(x + 4);
        const uint32_t w2 = tm_load_u32(x + 8), w3 = tm_load_u32(x + 12);
        const uint32_t a01 = tm_pkhbt(w0, w1, 16), a23 = tm_pkhtb(w1, w0, 16);
        const uint32_t b01 = tm_pkhbt(w2, w3, 16), b23 = tm_pkhtb(w3, w2, 16);
        lo[0] = tm_sxtab16(offsets, a01);
        lo[1] = tm_sxtab16_ror8(offsets, a01);
        lo[2] = tm_sxtab16(offsets, a23);
        lo[3] = tm_sxtab16_ror8(offsets, a23);
        hi[0] = tm_sxtab16(offsets, b01);
        hi[1] = tm_sxtab16_ror8(offsets, b01);
        hi[2] = tm_sxtab16(offsets, b23);
        hi[3] = tm_sxtab16_ror8(offsets, b23);
    } else {
        int32_t v[4 * TM_T2_LUT_CHUNK];
        for (int32_t i = 0; i < 4 * TM_T2_LUT_CHUNK; ++i) {
            v[i] = i < count ? x[i] + offset : 0;
        }
        for (int32_t k = 0; k < 4; ++k) {
            lo[k] = tm_lanes16(v[k], v[4 + k]);
            hi[k] = tm_lanes16(v[8 + k], v[12 + k]);
        }
    }
    /* the sums of inputs 0 and 1 under signs (a, b), r = 3 (a + 1) + b + 1, lane pairs */
    uint32_t o[9][2];
    const uint32_t na_lo = tm_ssub16(0, lo[0]), na_hi = tm_ssub16(0, hi[0]);
    const uint32_t a_lo[3] = {na_lo, 0, lo[0]}, a_hi[3] = {na_hi, 0, hi[0]};
    for (int32_t a = 0; a < 3; ++a) {
        o[3 * a][0] = tm_ssub16(a_lo[a], lo[1]);
        o[3 * a][1] = tm_ssub16(a_hi[a], hi[1]);
        o[3 * a + 1][0] = a_lo[a];
        o[3 * a + 1][1] = a_hi[a];
        o[3 * a + 2][0] = tm_sadd16(a_lo[a], lo[1]);
        o[3 * a + 2][1] = tm_sadd16(a_hi[a], hi[1]);
    }
    for (int32_t c = -1; c <= 1; ++c) {
        const uint32_t clo = tm_t2_signed(c, lo[2]), chi = tm_t2_signed(c, hi[2]);
        const uint32_t m_lo = tm_ssub16(clo, lo[3]), m_hi = tm_ssub16(chi, hi[3]);
        const uint32_t p_lo = tm_sadd16(clo, lo[3]), p_hi = tm_sadd16(chi, hi[3]);
        uint32_t *e = table + 6 * (c + 1);
#if TM_DSP_ACLE
        const uint32_t *op = &o[0][0];
        int32_t n = 9;
        uint32_t olo, ohi, t0, t1;
        __asm__ volatile("1:\n\t"
                         "ldrd %[olo], %[ohi], [%[op]], #8\n\t"
                         "sadd16 %[t0], %[olo], %[mlo]\n\t"
                         "sadd16 %[t1], %[ohi], %[mhi]\n\t"
                         "strd %[t0], %[t1], [%[e]]\n\t"
                         "sadd16 %[t0], %[olo], %[clo]\n\t"
                         "sadd16 %[t1], %[ohi], %[chi]\n\t"
                         "strd %[t0], %[t1], [%[e], #8]\n\t"
                         "sadd16 %[t0], %[olo], %[plo]\n\t"
                         "sadd16 %[t1], %[ohi], %[phi]\n\t"
                         "strd %[t0], %[t1], [%[e], #16]\n\t"
                         "add %[e], %[e], #72\n\t"
                         "subs %[n], %[n], #1\n\t"
                         "bne 1b\n\t"
                         : [op] "+r"(op), [e] "+r"(e), [n] "+r"(n), [olo] "=&r"(olo),
                           [ohi] "=&r"(ohi), [t0] "=&r"(t0), [t1] "=&r"(t1)
                         : [mlo] "r"(m_lo), [mhi] "r"(m_hi), [clo] "r"(clo), [chi] "r"(chi),
                           [plo] "r"(p_lo), [phi] "r"(p_hi)
                         : "cc", "memory");
#else
        for (int32_t r = 0; r < 9; ++r, e += 18) {
            const uint32_t olo = o[r][0], ohi = o[r][1];
            e[0] = tm_sadd16(olo, m_lo);
            e[1] = tm_sadd16(ohi, m_hi);
            e[2] = tm_sadd16(olo, clo);
            e[3] = tm_sadd16(ohi, chi);
            e[4] = tm_sadd16(olo, p_lo);
            e[5] = tm_sadd16(ohi, p_hi);
        }
#endif
    }
}

/* One channel's reads of a chunk: its 4 codes `step` bytes apart. */
static inline int32_t tm_t2_lut_reads(const int16_t *table, const uint8_t *c, int32_t step)
{
    return table[4 * c[0]] + table[4 * c[step] + 1] + table[4 * c[2 * step] + 2]
           + table[4 * c[3 * step] + 3];
}

/* A block's reads of `tables` (1 to 3) consecutive chunks added to from[0..3], into acc
 * (`tables` 0: one chunk whose last two groups are padding, left unread):
 * c holds [chunk][group][channel] bytes. Chunk k of a pass has its indexes stored plus
 * 81 k, so the same base registers reach its table, 81 entries after the one before. In
 * assembly on DSP cores: one base register per group makes each read one LDRSH with the
 * index scaled by 8 (the compiler recomputes the address instead). */
static inline void tm_t2_lut_block(const int16_t *table, const uint8_t *c, int32_t tables,
                                   const int32_t *from, int32_t *acc)
{
#if TM_DSP_ACLE
    int32_t a0 = from[0], a1 = from[1], a2 = from[2], a3 = from[3];
    const int16_t *t1 = table + 1, *t2 = table + 2, *t3 = table + 3;
    int32_t e;
#define TM_T2_LUT_READ(a, offset, t)                                                     \
    "ldrb %[e], [%[c], #" #offset "]\n\t"                                                \
    "ldrsh %[e], [%[" #t "], %[e], lsl #3]\n\t"                                          \
    "add %[" #a "], %[" #a "], %[e]\n\t"
#define TM_T2_LUT_CHANNEL(a, ch, base)                                                   \
    TM_T2_LUT_READ(a, base + ch, t0) TM_T2_LUT_READ(a, base + ch + 4, t1)                  \
    TM_T2_LUT_READ(a, base + ch + 8, t2) TM_T2_LUT_READ(a, base + ch + 12, t3)
#define TM_T2_LUT_CHUNK_READS(base)                                                      \
    TM_T2_LUT_CHANNEL(a0, 0, base) TM_T2_LUT_CHANNEL(a1, 1, base)                          \
    TM_T2_LUT_CHANNEL(a2, 2, base) TM_T2_LUT_CHANNEL(a3, 3, base)
#define TM_T2_LUT_HALF(a, ch) TM_T2_LUT_READ(a, ch, t0) TM_T2_LUT_READ(a, ch + 4, t1)
#define TM_T2_LUT_HALF_READS                                                             \
    TM_T2_LUT_HALF(a0, 0) TM_T2_LUT_HALF(a1, 1) TM_T2_LUT_HALF(a2, 2) TM_T2_LUT_HALF(a3, 3)
#define TM_T2_LUT_OPERANDS                                                               \
    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [e] "=&r"(e)              \
    : [c] "r"(c), [t0] "r"(table), [t1] "r"(t1), [t2] "r"(t2), [t3] "r"(t3)                 \
    : "memory"
    if (tables == 3) {
        __asm__(TM_T2_LUT_CHUNK_READS(0) TM_T2_LUT_CHUNK_READS(16) TM_T2_LUT_CHUNK_READS(32)
                TM_T2_LUT_OPERANDS);
    } else if (tables == 2) {
        __asm__(TM_T2_LUT_CHUNK_READS(0) TM_T2_LUT_CHUNK_READS(16) TM_T2_LUT_OPERANDS);
    } else if (tables == 1) {
        __asm__(TM_T2_LUT_CHUNK_READS(0) TM_T2_LUT_OPERANDS);
    } else {   /* a chunk of 2 groups (a layer of 8 inputs or fewer): their reads alone */
        __asm__(TM_T2_LUT_HALF_READS TM_T2_LUT_OPERANDS);
    }
#undef TM_T2_LUT_HALF_READS
#undef TM_T2_LUT_HALF
#undef TM_T2_LUT_OPERANDS
#undef TM_T2_LUT_CHUNK_READS
#undef TM_T2_LUT_CHANNEL
#undef TM_T2_LUT_READ
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
#else
    for (int32_t ch = 0; ch < 4; ++ch) {
        int32_t a = from[ch];
        for (int32_t k = 0; k < TM_MAX(tables, 1); ++k) {
            a += tm_t2_lut_reads(table, c + k * 4 * TM_T2_LUT_CHUNK + ch, TM_GEMM_BLOCK);
        }
        acc[ch] = a;
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
    const int32_t table_words = TM_T2_LUT_PATTERNS * TM_T2_LUT_CHUNK / 2;
    const tm_gemm_output o = tm_gemm_output_of(offset_terms, multiplier, shift, n_out,
                                               p->output_offset, p->act_min, p->act_max);
    int32_t *acc = (int32_t *)scratch;
    uint32_t *table = (uint32_t *)(acc + n_out);
    const int16_t *entries = (const int16_t *)table;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * n_in;
        for (int32_t k0 = 0; k0 < chunks; k0 += TM_T2_LUT_TABLES) {
            const int32_t *from = k0 == 0 ? offset_terms : acc;   /* the first pass starts them */
            const int32_t tables = TM_MIN(TM_T2_LUT_TABLES, chunks - k0);
            for (int32_t k = 0; k < tables; ++k) {
                const int32_t first = 4 * TM_T2_LUT_CHUNK * (k0 + k);
                tm_t2_lut_build(x + first, TM_MIN(4 * TM_T2_LUT_CHUNK, n_in - first),
                                p->input_offset, table + k * table_words);
            }
            const uint8_t *c = codes + k0 * chunk_bytes;
            const int32_t reads = n_in <= 8 ? 0 : tables;
            for (int32_t oc = 0; oc < blocked; oc += TM_GEMM_BLOCK, c += chunks * chunk_bytes) {
                tm_t2_lut_block(entries, c, reads, from + oc, acc + oc);
            }
            const uint8_t *row = codes + blocked * chunks * TM_T2_LUT_CHUNK + k0 * TM_T2_LUT_CHUNK;
            for (int32_t oc = blocked; oc < n_out; ++oc, row += chunks * TM_T2_LUT_CHUNK) {
                int32_t a = from[oc];
                for (int32_t k = 0; k < tables; ++k) {
                    a += tm_t2_lut_reads(entries, row + k * TM_T2_LUT_CHUNK, 1);
                }
                acc[oc] = a;
            }
        }
        int8_t *y = output + b * n_out;
        if (o.lo == -128 && o.hi == 127 && !gain) {   /* nearly every layer: all of int8 */
            for (int32_t oc = 0; oc < n_out; ++oc) {
                const int32_t right = -shift[oc];
                const int32_t v = right > 0 ? tm_gemm_right(acc[oc], multiplier[oc],
                                                            1 << (right - 1), right)
                                            : tm_gemm_left(acc[oc], multiplier[oc], 1 - right);
                y[oc] = (int8_t)tm_ssat(v + o.output_offset, 8);
            }
        } else {
            for (int32_t oc = 0; oc < n_out; ++oc) {
                y[oc] = tm_store1(&o, oc, tm_trit_finish(acc[oc], gain, bias, oc));
            }
        }
    }
    return TM_OK;
}
