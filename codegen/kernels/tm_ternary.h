/* Ternary weights (tinyml/dtypes.py): signs packed four per byte, sign i of a group in bits
 * 2i..2i+1 as a two's-complement 2-bit code (00 = 0, 01 = +1, 11 = -1), optionally times a
 * magnitude q per output channel (`gain`, NULL when every q is 1). A weight product is an
 * add, a subtract or nothing: no multiply. */
#ifndef TM_TERNARY_H
#define TM_TERNARY_H

#include "tm_nn.h"

/* The code of sign i of a packed array. */
static inline uint32_t tm_trit_code(const uint8_t *packed, int32_t i)
{
    return ((uint32_t)packed[i >> 2] >> ((i & 3) * 2)) & 3u;
}

/* v times the sign of `code`, by selection. */
static inline int32_t tm_trit_term(int32_t v, uint32_t code)
{
    return code == 1u ? v : (code == 3u ? -v : 0);
}

/* sum(x * sign) * q + bias: the accumulator of an int8 dot product whose weights are +-q. */
static inline int32_t tm_trit_finish(int32_t sum, const int32_t *gain, const int32_t *bias,
                                     int32_t channel)
{
    if (gain) {
        sum *= gain[channel];
    }
    return bias ? sum + bias[channel] : sum;
}

#endif
