/* The buffer-size half of a test-only variant (tests/test_kernel_scratch.py): one input row
 * widened to int16, as an im2col-style kernel would keep it. */
#include "tm_nn.h"

int32_t tm_conv2d_rowbuf_demo_s8_get_buffer_size(const tm_conv2d_s8_params *p);

int32_t tm_conv2d_rowbuf_demo_s8_get_buffer_size(const tm_conv2d_s8_params *p)
{
    return p->geometry.in_w * p->geometry.in_c * (int32_t)sizeof(int16_t);
}
