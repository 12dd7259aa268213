/* tm_dsp.h: the Armv7E-M DSP instructions the kernels use, as static inline functions.
 *
 * Where the compiler targets a core with the DSP extension (__ARM_FEATURE_DSP), each is the
 * ACLE intrinsic (<arm_acle.h>), one instruction. Elsewhere it is portable C computing
 * exactly what the instruction's pseudocode in the Armv7-M Architecture Reference Manual
 * does, with no undefined behaviour (no signed overflow, no shift of a negative value), so a
 * DSP kernel runs bit-exact on the host too. The Q flag is not modelled: no kernel reads it.
 *
 * Packed words are uint32_t: two 16-bit lanes (bits 15:0 the bottom, 31:16 the top) or four
 * 8-bit lanes. Accumulators and saturated scalars are int32_t.
 *
 * tm_ssat(x, n) and tm_usat(x, n) take the bit count n as a constant expression, as the
 * instructions encode it: n in 1..32 for tm_ssat, 0..31 for tm_usat. PKHBT and PKHTB have no
 * ACLE intrinsic; their C below compiles to the instruction with a shift constant.
 */
#ifndef TM_DSP_H
#define TM_DSP_H

#include <stdint.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__ARM_FEATURE_SIMD32) \
    && __ARM_FEATURE_SIMD32
#define TM_DSP_ACLE 1
#else
#define TM_DSP_ACLE 0
#endif

#if defined(__ARM_FEATURE_SAT) && __ARM_FEATURE_SAT
#define TM_SAT_ACLE 1
#else
#define TM_SAT_ACLE 0
#endif

#if TM_DSP_ACLE || TM_SAT_ACLE
#include <arm_acle.h>
#endif

/* ---- exact two's-complement helpers of the portable path ---- */

/* The int32_t whose bits are u (defined for every u, unlike a cast of u > INT32_MAX). */
static inline int32_t tm_dsp_s32(uint32_t u)
{
    return u <= 0x7FFFFFFFu ? (int32_t)u : (int32_t)(u - 0x80000000u) - INT32_MAX - 1;
}

/* The low 32 bits of v, as int32_t (wrap-around, as the instructions' R[d] = result<31:0>). */
static inline int32_t tm_dsp_wrap32(int64_t v)
{
    return tm_dsp_s32((uint32_t)((uint64_t)v & 0xFFFFFFFFu));
}

/* SInt of a 16-bit lane: lane 0 is bits 15:0, lane 1 bits 31:16. */
static inline int32_t tm_dsp_lane16(uint32_t x, int lane)
{
    const uint32_t h = (x >> (16 * lane)) & 0xFFFFu;
    return h < 0x8000u ? (int32_t)h : (int32_t)h - 0x10000;
}

/* SignExtend of byte `index` (0 = bits 7:0) to 16 bits, as an unsigned 16-bit pattern. */
static inline uint32_t tm_dsp_byte16(uint32_t x, int index)
{
    const uint32_t b = (x >> (8 * index)) & 0xFFu;
    return b < 0x80u ? b : b | 0xFF00u;
}

static inline uint32_t tm_dsp_ror(uint32_t x, uint32_t rotation)
{
    rotation &= 31u;
    return rotation == 0u ? x : (x >> rotation) | (x << (32u - rotation));
}

/* Arithmetic shift right of the bits of x by 0..31, without shifting a negative value. */
static inline uint32_t tm_dsp_asr(uint32_t x, uint32_t shift)
{
    const uint32_t fill = (x & 0x80000000u) && shift ? ~(0xFFFFFFFFu >> shift) : 0u;
    return (x >> shift) | fill;
}

static inline int32_t tm_dsp_sat64(int64_t v, int64_t lo, int64_t hi)
{
    return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

/* ---- multiply-accumulate on 16-bit lanes ---- */

/* SMLAD: acc + x.lo * y.lo + x.hi * y.hi, wrapping to 32 bits. */
static inline int32_t tm_smlad(uint32_t x, uint32_t y, int32_t acc)
{
#if TM_DSP_ACLE
    return __smlad((int16x2_t)x, (int16x2_t)y, acc);
#else
    return tm_dsp_wrap32((int64_t)acc + (int64_t)tm_dsp_lane16(x, 0) * tm_dsp_lane16(y, 0)
                         + (int64_t)tm_dsp_lane16(x, 1) * tm_dsp_lane16(y, 1));
#endif
}

/* SMLADX: as SMLAD with y's lanes exchanged: acc + x.lo * y.hi + x.hi * y.lo. */
static inline int32_t tm_smladx(uint32_t x, uint32_t y, int32_t acc)
{
#if TM_DSP_ACLE
    return __smladx((int16x2_t)x, (int16x2_t)y, acc);
#else
    return tm_dsp_wrap32((int64_t)acc + (int64_t)tm_dsp_lane16(x, 0) * tm_dsp_lane16(y, 1)
                         + (int64_t)tm_dsp_lane16(x, 1) * tm_dsp_lane16(y, 0));
#endif
}

/* SMUAD: x.lo * y.lo + x.hi * y.hi, wrapping to 32 bits (only -32768^2 * 2 wraps). */
static inline int32_t tm_smuad(uint32_t x, uint32_t y)
{
#if TM_DSP_ACLE
    return __smuad((int16x2_t)x, (int16x2_t)y);
#else
    return tm_dsp_wrap32((int64_t)tm_dsp_lane16(x, 0) * tm_dsp_lane16(y, 0)
                         + (int64_t)tm_dsp_lane16(x, 1) * tm_dsp_lane16(y, 1));
#endif
}

/* SMLABT: acc + x.lo * y.hi, wrapping to 32 bits. */
static inline int32_t tm_smlabt(uint32_t x, uint32_t y, int32_t acc)
{
#if TM_DSP_ACLE
    return __smlabt((int32_t)x, (int32_t)y, acc);
#else
    return tm_dsp_wrap32((int64_t)acc + (int64_t)tm_dsp_lane16(x, 0) * tm_dsp_lane16(y, 1));
#endif
}

/* SMLATB: acc + x.hi * y.lo, wrapping to 32 bits. */
static inline int32_t tm_smlatb(uint32_t x, uint32_t y, int32_t acc)
{
#if TM_DSP_ACLE
    return __smlatb((int32_t)x, (int32_t)y, acc);
#else
    return tm_dsp_wrap32((int64_t)acc + (int64_t)tm_dsp_lane16(x, 1) * tm_dsp_lane16(y, 0));
#endif
}

/* SMMULR: the top word of a * b, rounded: floor((a * b + 2^31) / 2^32), always in int32.
 * ACLE has no intrinsic for it. */
static inline int32_t tm_smmulr(int32_t a, int32_t b)
{
#if TM_DSP_ACLE
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    const int64_t v = (int64_t)a * b + 0x80000000LL;
    return (int32_t)(v >= 0 ? v / 0x100000000LL : -((-v + 0xFFFFFFFFLL) / 0x100000000LL));
#endif
}

/* ---- 16-bit lanes ---- */

/* Two int16 lanes: lo in bits 15:0, hi in 31:16. */
static inline uint32_t tm_lanes16(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

/* SADD16: the lane-wise sums of a and b, each wrapping to 16 bits. */
static inline uint32_t tm_sadd16(uint32_t a, uint32_t b)
{
#if TM_DSP_ACLE
    return (uint32_t)__sadd16((int16x2_t)a, (int16x2_t)b);
#else
    return ((a + b) & 0xFFFFu) | (((a >> 16) + (b >> 16)) << 16);
#endif
}

/* SSUB16: the lane-wise differences a - b, each wrapping to 16 bits. */
static inline uint32_t tm_ssub16(uint32_t a, uint32_t b)
{
#if TM_DSP_ACLE
    return (uint32_t)__ssub16((int16x2_t)a, (int16x2_t)b);
#else
    return ((a - b) & 0xFFFFu) | (((a >> 16) - (b >> 16)) << 16);
#endif
}

/* ---- sums of bytes ---- */

/* USADA8: acc plus the sum of |a_i - b_i| over the four unsigned bytes. */
static inline uint32_t tm_usada8(uint32_t a, uint32_t b, uint32_t acc)
{
#if TM_DSP_ACLE
    return __usada8(a, b, acc);
#else
    for (int i = 0; i < 32; i += 8) {
        const int32_t d = (int32_t)((a >> i) & 0xFFu) - (int32_t)((b >> i) & 0xFFu);
        acc += (uint32_t)(d < 0 ? -d : d);
    }
    return acc;
#endif
}

/* ---- byte unpacking ---- */

/* SXTB16: bytes 0 and 2 of x, sign-extended into the two 16-bit lanes. */
static inline uint32_t tm_sxtb16(uint32_t x)
{
#if TM_DSP_ACLE
    return (uint32_t)__sxtb16((int8x4_t)x);
#else
    return tm_dsp_byte16(x, 0) | (tm_dsp_byte16(x, 2) << 16);
#endif
}

/* SXTB16 Rd, Rm, ROR #rotation (0, 8, 16 or 24): rotation 8 yields bytes 1 and 3. */
static inline uint32_t tm_sxtb16_ror(uint32_t x, uint32_t rotation)
{
    return tm_sxtb16(tm_dsp_ror(x, rotation));
}

/* SXTB16 Rd, Rm, ROR #8 as one instruction (the compiler does not fold the rotation into
 * __sxtb16): bytes 1 and 3 of x, sign-extended. */
static inline uint32_t tm_sxtb16_ror8(uint32_t x)
{
#if TM_DSP_ACLE
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
#else
    return tm_sxtb16(tm_dsp_ror(x, 8));
#endif
}

/* SXTAB16: acc's lanes plus bytes 0 and 2 of x, sign-extended, each lane wrapping to 16 bits. */
static inline uint32_t tm_sxtab16(uint32_t acc, uint32_t x)
{
#if TM_DSP_ACLE
    return (uint32_t)__sxtab16((int16x2_t)acc, (int8x4_t)x);
#else
    const uint32_t lo = (acc + tm_dsp_byte16(x, 0)) & 0xFFFFu;
    const uint32_t hi = ((acc >> 16) + tm_dsp_byte16(x, 2)) & 0xFFFFu;
    return lo | (hi << 16);
#endif
}

/* SXTAB16 Rd, Rn, Rm, ROR #8 as one instruction: acc's lanes plus bytes 1 and 3 of x. */
static inline uint32_t tm_sxtab16_ror8(uint32_t acc, uint32_t x)
{
#if TM_DSP_ACLE
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
#else
    return tm_sxtab16(acc, tm_dsp_ror(x, 8));
#endif
}

/* ---- saturation ---- */

/* QADD: a + b saturated to int32. */
static inline int32_t tm_qadd(int32_t a, int32_t b)
{
#if TM_DSP_ACLE
    return __qadd(a, b);
#else
    return tm_dsp_sat64((int64_t)a + b, INT32_MIN, INT32_MAX);
#endif
}

/* QSUB: a - b saturated to int32. */
static inline int32_t tm_qsub(int32_t a, int32_t b)
{
#if TM_DSP_ACLE
    return __qsub(a, b);
#else
    return tm_dsp_sat64((int64_t)a - b, INT32_MIN, INT32_MAX);
#endif
}

/* x saturated to a signed n-bit range, [-2^(n-1), 2^(n-1) - 1], n in 1..32. */
static inline int32_t tm_ssat_c(int32_t x, int n)
{
    const int64_t hi = ((int64_t)1 << (n - 1)) - 1;
    return tm_dsp_sat64(x, -hi - 1, hi);
}

/* x saturated to an unsigned n-bit range, [0, 2^n - 1], n in 0..31. */
static inline int32_t tm_usat_c(int32_t x, int n)
{
    return tm_dsp_sat64(x, 0, ((int64_t)1 << n) - 1);
}

#if TM_SAT_ACLE
#define tm_ssat(x, n) ((int32_t)__ssat((x), (n)))
#define tm_usat(x, n) ((int32_t)__usat((x), (n)))
#else
#define tm_ssat(x, n) tm_ssat_c((x), (n))
#define tm_usat(x, n) tm_usat_c((x), (n))
#endif

/* ---- halfword packing ---- */

/* PKHBT: the bottom lane of a, the top lane of (b << shift), shift 0..31. */
static inline uint32_t tm_pkhbt(uint32_t a, uint32_t b, uint32_t shift)
{
    return (a & 0xFFFFu) | ((b << (shift & 31u)) & 0xFFFF0000u);
}

/* PKHTB: the top lane of a, the bottom lane of (b arithmetically shifted right by 0..31). */
static inline uint32_t tm_pkhtb(uint32_t a, uint32_t b, uint32_t shift)
{
    return (a & 0xFFFF0000u) | (tm_dsp_asr(b, shift & 31u) & 0xFFFFu);
}

/* PKHBT Rd, a, b: the bottom lane of a and the top lane of b, one instruction (GCC does not
 * recognise the masks as PKHBT without a shift). */
static inline uint32_t tm_pkhbt_join(uint32_t a, uint32_t b)
{
#if TM_DSP_ACLE
    uint32_t r;
    __asm__("pkhbt %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (a & 0xFFFFu) | (b & 0xFFFF0000u);
#endif
}

#endif /* TM_DSP_H */
