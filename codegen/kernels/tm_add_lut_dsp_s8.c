#include <string.h>

#include "tm_add_lut.h"
#include "tm_dsp_bytes.h"

/* The output stage of one lane, saturated to int8 (its low byte is the result). */
static inline uint32_t lane(const tm_add_lut_s8_params *p, int32_t sum)
{
    return (uint32_t)tm_ssat(tm_add_lut_output(p, sum), 8);
}

/* word's byte at bit `lsb` (a literal 8, 16 or 24) := the low byte of v: one BFI, which GCC
 * does not find for the portable expression */
#if TM_DSP_ACLE
#define INSERT_BYTE(word, v, lsb) __asm__("bfi %0, %1, #" #lsb ", #8" : "+r"(word) : "r"(v))
#else
#define INSERT_BYTE(word, v, lsb) \
    ((word) = ((word) & ~(0xFFu << (lsb))) | (((v) & 0xFFu) << (lsb)))
#endif

/* tm_add_lut_s8 four elements per word: one load per input, the results packed into one
 * store and clamped four at a time (SSUB8 + SEL). Words may be unaligned (memcpy). */
int tm_add_lut_dsp_s8(const tm_add_lut_s8_params *p, const int8_t *input1,
                      const int8_t *input2, const int32_t *table1, const int32_t *table2,
                      int8_t *output)
{
    /* a local copy: stores through output may alias *p as far as the compiler knows */
    const tm_add_lut_s8_params q = *p;
    const uint32_t lo = tm_splat8(q.act_min);
    const uint32_t hi = tm_splat8(q.act_max);
    const int8_t *const end4 = input1 + (q.size & ~3);
    while (input1 < end4) {
        uint32_t a, b;
        memcpy(&a, input1, sizeof a);
        memcpy(&b, input2, sizeof b);
        uint32_t out = lane(&q, table1[a & 0xFFu] + table2[b & 0xFFu]);
        INSERT_BYTE(out, lane(&q, table1[(a >> 8) & 0xFFu] + table2[(b >> 8) & 0xFFu]), 8);
        INSERT_BYTE(out, lane(&q, table1[(a >> 16) & 0xFFu] + table2[(b >> 16) & 0xFFu]), 16);
        INSERT_BYTE(out, lane(&q, table1[a >> 24] + table2[b >> 24]), 24);
        /* as tm_clamp_s8: hi wins when lo > hi */
        out = tm_smin8(tm_smax8(out, lo), hi);
        memcpy(output, &out, sizeof out);
        input1 += 4;
        input2 += 4;
        output += 4;
    }
    for (int32_t i = 0; i < (q.size & 3); ++i) {
        const int32_t sum = table1[(uint8_t)input1[i]] + table2[(uint8_t)input2[i]];
        output[i] = tm_clamp_s8(tm_add_lut_output(&q, sum), q.act_min, q.act_max);
    }
    return TM_OK;
}
