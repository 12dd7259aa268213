#include <string.h>

#include "tm_nn.h"

static void fill(const tm_pad_f32_params *p, float *row, int32_t count)
{
    for (int32_t i = 0; i < count; ++i) {
        row[i] = p->value;
    }
}

static int inside(const tm_pad_shape *s, int32_t dim, int32_t index)
{
    return index >= s->before[dim] && index < s->before[dim] + s->in_dims[dim];
}

int tm_pad_generic_f32(const tm_pad_f32_params *p, const float *input, float *output)
{
    const tm_pad_shape *s = &p->shape;
    const int32_t width = s->out_dims[3], row = s->in_dims[3], before = s->before[3];
    for (int32_t i0 = 0; i0 < s->out_dims[0]; ++i0) {
        for (int32_t i1 = 0; i1 < s->out_dims[1]; ++i1) {
            for (int32_t i2 = 0; i2 < s->out_dims[2]; ++i2) {
                if (inside(s, 0, i0) && inside(s, 1, i1) && inside(s, 2, i2)) {
                    /* input rows come in order: the input is read straight through */
                    fill(p, output, before);
                    memcpy(output + before, input, (size_t)row * sizeof(*input));
                    fill(p, output + before + row, width - before - row);
                    input += row;
                } else {
                    fill(p, output, width);
                }
                output += width;
            }
        }
    }
    return TM_OK;
}
