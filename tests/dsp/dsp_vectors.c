/* Every tm_dsp.h primitive over edge and pseudo-random operands, one line per result:
 * "<name> <a> <b> <c> <result>" in hex (c is the accumulator, shift, rotation or bit count).
 * The same program runs on the host (portable C) and on a Cortex-M4 in QEMU (ACLE); the host
 * test checks each line against a Python model of the instruction and the two outputs for
 * equality. */
#include <stdint.h>

#include "dsp_vectors.h"
#include "tm_dsp.h"

#define RANDOM_CASES 600

/* Lane extremes and sign boundaries, in 32-bit, 16-bit and 8-bit lanes. */
static const uint32_t EDGES[] = {
    0x00000000u, 0x00000001u, 0xFFFFFFFFu, 0x7FFFFFFFu, 0x80000000u, 0x00007FFFu,
    0x00008000u, 0x7FFF0000u, 0x80008000u, 0x7FFF7FFFu, 0xFFFF8000u, 0x80007FFFu,
    0x0000FFFFu, 0xFFFF0000u, 0x7F7F7F7Fu, 0x80808080u, 0x807F807Fu, 0x7F807F80u,
    0x01FF80FEu, 0xFFFF0001u,
};
#define EDGE_COUNT (sizeof EDGES / sizeof EDGES[0])

static const uint32_t ACCUMULATORS[] = {0x00000000u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu,
                                        0x00000001u};
#define ACC_COUNT (sizeof ACCUMULATORS / sizeof ACCUMULATORS[0])

static uint32_t rng_state = 0x2545F491u;

static uint32_t next_random(void)
{
    /* xorshift32; every third value is pushed to a lane extreme to hit saturation often */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    if (rng_state % 3u == 0u) {
        return rng_state | 0x7F007F00u;
    }
    return rng_state;
}

static void put_hex(char *out, uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 7; i >= 0; --i) {
        out[i] = digits[v & 0xFu];
        v >>= 4;
    }
}

static void line(const char *name, uint32_t a, uint32_t b, uint32_t c, uint32_t r)
{
    char text[64];
    int n = 0;
    while (name[n] != '\0') {
        text[n] = name[n];
        ++n;
    }
    const uint32_t values[4] = {a, b, c, r};
    for (int i = 0; i < 4; ++i) {
        text[n++] = ' ';
        put_hex(text + n, values[i]);
        n += 8;
    }
    text[n++] = '\n';
    text[n] = '\0';
    tm_dsp_emit(text);
}

static uint32_t bits(int32_t v)
{
    return (uint32_t)v;
}

static void mac3(uint32_t x, uint32_t y, uint32_t acc)
{
    line("smlad", x, y, acc, bits(tm_smlad(x, y, (int32_t)acc)));
    line("smladx", x, y, acc, bits(tm_smladx(x, y, (int32_t)acc)));
    line("smlabt", x, y, acc, bits(tm_smlabt(x, y, (int32_t)acc)));
    line("smlatb", x, y, acc, bits(tm_smlatb(x, y, (int32_t)acc)));
}

static void pair(uint32_t a, uint32_t b)
{
    line("smuad", a, b, 0, bits(tm_smuad(a, b)));
    line("sxtab16", a, b, 0, tm_sxtab16(a, b));
    line("sxtab16_ror8", a, b, 0, tm_sxtab16_ror8(a, b));
    line("smmulr", a, b, 0, bits(tm_smmulr((int32_t)a, (int32_t)b)));
    line("qadd", a, b, 0, bits(tm_qadd((int32_t)a, (int32_t)b)));
    line("qsub", a, b, 0, bits(tm_qsub((int32_t)a, (int32_t)b)));
    line("pkhbt", a, b, 0, tm_pkhbt_join(a, b));
}

static void single(uint32_t x)
{
    line("sxtb16", x, 0, 0, tm_sxtb16(x));
    for (uint32_t rotation = 0; rotation < 32u; rotation += 8u) {
        line("sxtb16_ror", x, 0, rotation, tm_sxtb16_ror(x, rotation));
    }
    line("sxtb16_ror", x, 0, 8, tm_sxtb16_ror8(x));
}

/* The bit count of SSAT/USAT is an immediate: one case per count. */
#define SSAT_CASE(n) case n: r = tm_ssat(v, n); break;
#define USAT_CASE(n) case n: r = tm_usat(v, n); break;

static void saturate(uint32_t x)
{
    const int32_t v = (int32_t)x;
    for (int n = 1; n <= 32; ++n) {
        int32_t r = 0;
        switch (n) {
            SSAT_CASE(1) SSAT_CASE(2) SSAT_CASE(3) SSAT_CASE(4) SSAT_CASE(5) SSAT_CASE(6)
            SSAT_CASE(7) SSAT_CASE(8) SSAT_CASE(9) SSAT_CASE(10) SSAT_CASE(11) SSAT_CASE(12)
            SSAT_CASE(13) SSAT_CASE(14) SSAT_CASE(15) SSAT_CASE(16) SSAT_CASE(17)
            SSAT_CASE(18) SSAT_CASE(19) SSAT_CASE(20) SSAT_CASE(21) SSAT_CASE(22)
            SSAT_CASE(23) SSAT_CASE(24) SSAT_CASE(25) SSAT_CASE(26) SSAT_CASE(27)
            SSAT_CASE(28) SSAT_CASE(29) SSAT_CASE(30) SSAT_CASE(31) SSAT_CASE(32)
            default: break;
        }
        line("ssat", x, 0, (uint32_t)n, bits(r));
    }
    for (int n = 0; n <= 31; ++n) {
        int32_t r = 0;
        switch (n) {
            USAT_CASE(0) USAT_CASE(1) USAT_CASE(2) USAT_CASE(3) USAT_CASE(4) USAT_CASE(5)
            USAT_CASE(6) USAT_CASE(7) USAT_CASE(8) USAT_CASE(9) USAT_CASE(10) USAT_CASE(11)
            USAT_CASE(12) USAT_CASE(13) USAT_CASE(14) USAT_CASE(15) USAT_CASE(16)
            USAT_CASE(17) USAT_CASE(18) USAT_CASE(19) USAT_CASE(20) USAT_CASE(21)
            USAT_CASE(22) USAT_CASE(23) USAT_CASE(24) USAT_CASE(25) USAT_CASE(26)
            USAT_CASE(27) USAT_CASE(28) USAT_CASE(29) USAT_CASE(30) USAT_CASE(31)
            default: break;
        }
        line("usat", x, 0, (uint32_t)n, bits(r));
    }
}

static void pack(uint32_t a, uint32_t b, uint32_t shift)
{
    line("pkhbt", a, b, shift, tm_pkhbt(a, b, shift));
    line("pkhtb", a, b, shift, tm_pkhtb(a, b, shift));
}

void tm_dsp_vectors(void)
{
    for (uint32_t i = 0; i < EDGE_COUNT; ++i) {
        single(EDGES[i]);
        saturate(EDGES[i]);
        for (uint32_t j = 0; j < EDGE_COUNT; ++j) {
            pair(EDGES[i], EDGES[j]);
            pack(EDGES[i], EDGES[j], (i + j) % 32u);
            for (uint32_t k = 0; k < ACC_COUNT; ++k) {
                mac3(EDGES[i], EDGES[j], ACCUMULATORS[k]);
            }
        }
    }
    for (int n = 0; n < RANDOM_CASES; ++n) {
        const uint32_t a = next_random(), b = next_random(), c = next_random();
        mac3(a, b, c);
        pair(a, b);
        single(a);
        pack(a, b, c % 32u);
        if (n % 20 == 0) {
            saturate(c);
        }
    }
}
