/* Per-byte signed max and min of four int8 lanes (SSUB8 sets a GE flag per byte where
 * x >= y; SEL takes x's byte there, y's elsewhere): ACLE where the core has SIMD32, the same
 * lane by lane in portable C elsewhere (tests/test_dsp_bytes.py checks the portable C against
 * the instructions; the kernels' Cortex-M4 tests run the ACLE form). */
#ifndef TM_DSP_BYTES_H
#define TM_DSP_BYTES_H

#include "tm_dsp.h"

#if !TM_DSP_ACLE
static inline int32_t tm_dsp_lane8(uint32_t x, int lane)
{
    const uint32_t b = (x >> (8 * lane)) & 0xFFu;
    return b < 0x80u ? (int32_t)b : (int32_t)b - 0x100;
}

static inline uint32_t tm_dsp_pick8(uint32_t x, uint32_t y, int larger)
{
    uint32_t out = 0;
    for (int lane = 0; lane < 4; ++lane) {
        const int x_wins = (tm_dsp_lane8(x, lane) >= tm_dsp_lane8(y, lane)) == larger;
        out |= ((x_wins ? x : y) & (0xFFu << (8 * lane)));
    }
    return out;
}
#endif

static inline uint32_t tm_smax8(uint32_t x, uint32_t y)
{
#if TM_DSP_ACLE
    (void)__ssub8((int8x4_t)x, (int8x4_t)y);
    return (uint32_t)__sel((uint8x4_t)x, (uint8x4_t)y);
#else
    return tm_dsp_pick8(x, y, 1);
#endif
}

static inline uint32_t tm_smin8(uint32_t x, uint32_t y)
{
#if TM_DSP_ACLE
    (void)__ssub8((int8x4_t)y, (int8x4_t)x);
    return (uint32_t)__sel((uint8x4_t)x, (uint8x4_t)y);
#else
    return tm_dsp_pick8(x, y, 0);
#endif
}

/* four copies of an int8 value, one per lane */
static inline uint32_t tm_splat8(int32_t v)
{
    return 0x01010101u * ((uint32_t)v & 0xFFu);
}

#endif
