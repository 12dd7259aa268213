#include "tm_add_lut.h"

/* Add (or Sub) of two int8 tensors of the output's shape, one element at a time: two table
 * loads, one multiply (tm_add_lut.h). Portable: every core, the host too. */
int tm_add_lut_s8(const tm_add_lut_s8_params *p, const int8_t *input1, const int8_t *input2,
                  const int32_t *table1, const int32_t *table2, int8_t *output)
{
    /* a local copy: stores through output may alias *p as far as the compiler knows */
    const tm_add_lut_s8_params q = *p;
    for (int32_t i = 0; i < q.size; ++i) {
        const int32_t sum = table1[(uint8_t)input1[i]] + table2[(uint8_t)input2[i]];
        output[i] = tm_clamp_s8(tm_add_lut_output(&q, sum), q.act_min, q.act_max);
    }
    return TM_OK;
}
