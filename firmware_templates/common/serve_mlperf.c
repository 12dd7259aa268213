/* Serve mode for the MLPerf Tiny (EEMBC) runner: a text protocol instead of frames.
 * Built instead of serve.c when build_firmware(..., protocol="mlperf").
 *
 * Commands end with '%', tokens are separated by spaces; every command ends with m-ready.
 *   name%              m-name-dut-[tinyml]
 *   profile%           m-profile-[...], m-model-[...]
 *   timestamp%         m-lap-us-N
 *   db load N%         m-[Expecting N bytes]; N is the inputs' byte count in the model's
 *                      dtypes, or 4 bytes per element for float32 data that the firmware
 *                      quantizes with the input's scale and zero point (as the runner
 *                      sends anomaly-detection samples)
 *   db HEX%            bytes in order; m-load-done when N have arrived
 *   db print%          m-buffer-xx-xx-... (the inputs as loaded, 8 bytes a line)
 *   infer N W%         W warm-up and N timed inferences, then results
 *   results%           m-results-[f,...]: every output, dequantized, 6 decimals
 * Errors are e-[...] lines. Inputs live straight in the firmware's input buffer. */
#include <math.h>
#include <string.h>

#include "tm_fw.h"
#include "tm_io.h"

#define LINE_MAX 1024u   /* the runner sends at most 80; more is accepted, for faster loads */

#ifndef TM_MLPERF_MODEL
#define TM_MLPERF_MODEL TMG_NAME
#endif

static char line[LINE_MAX + 1u];
static uint32_t load_size, load_pos;   /* bytes announced by db load, bytes received */
static uint32_t load_float;            /* 1: the host sends float32, 4 bytes per element */
static uint8_t float_part[4];

/* -- output --------------------------------------------------------------------- */
static void put_str(const char *s)
{
    tm_uart_write((const uint8_t *)s, strlen(s));
}

static void put_u64(uint64_t v)
{
    char buf[21];
    uint32_t n = sizeof buf;
    buf[--n] = '\0';
    do {
        buf[--n] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    put_str(&buf[n]);
}

static void put_i64(int64_t v)
{
    if (v < 0) {
        tm_uart_putc('-');
        put_u64((uint64_t)0 - (uint64_t)v);
    } else {
        put_u64((uint64_t)v);
    }
}

static void put_hex2(uint8_t b)
{
    static const char digits[] = "0123456789abcdef";
    tm_uart_putc((uint8_t)digits[b >> 4]);
    tm_uart_putc((uint8_t)digits[b & 15u]);
}

/* Fixed point with 6 decimals (no printf float support, no double arithmetic): enough for
   the host to recover an int8 output exactly whenever its scale exceeds 2e-6. Magnitudes
   of 2^32 and more print as m.mmmmmmeN. */
static void put_float(float v)
{
    if (isnan(v)) {
        put_str("nan");
        return;
    }
    if (v < 0.0f) {
        tm_uart_putc('-');
        v = -v;
    }
    if (isinf(v)) {
        put_str("inf");
        return;
    }
    uint32_t exponent = 0;
    while (v >= 4294967040.0f) {   /* the largest float below 2^32 */
        v /= 10.0f;
        ++exponent;
    }
    uint32_t whole = (uint32_t)v;
    uint32_t frac = (uint32_t)((v - (float)whole) * 1e6f + 0.5f);   /* < 0.07 off: exact digits */
    if (frac >= 1000000u) {
        whole += 1u;
        frac -= 1000000u;
    }
    put_u64(whole);
    tm_uart_putc('.');
    for (uint32_t d = 100000u; d; d /= 10u) {
        tm_uart_putc((uint8_t)('0' + frac / d % 10u));
    }
    if (exponent) {
        tm_uart_putc('e');
        put_u64(exponent);
    }
}

static void say(const char *msg)
{
    put_str(msg);
    put_str("\r\n");
}

static void error(const char *msg)
{
    put_str("e-[");
    put_str(msg);
    put_str("]\r\n");
}

/* -- time ------------------------------------------------------------------------ */
/* Microseconds since boot from a free-running counter, widened to 64 bits on every read
   (so a timed region may not exceed one counter period: 171 s at 25 MHz). Under QEMU the
   counter is the mps2 FPGAIO counter in virtual time, deterministic with -icount. */
static uint64_t tm_clock_us(void)
{
    static uint32_t last;
    static uint64_t high;
#if defined(TM_US_COUNTER)
    const uint32_t now = *(volatile uint32_t *)(TM_US_COUNTER);
    const uint64_t hz = TM_US_COUNTER_HZ;
#elif defined(TM_HAVE_DWT)
    const uint32_t now = *(volatile uint32_t *)0xE0001004u;   /* DWT CYCCNT */
    const uint64_t hz = TM_CLOCK_HZ;
#else
#error "MLPerf mode needs a counter: TM_US_COUNTER or a DWT"
#endif
    if (now < last) {
        high += 1ull << 32;
    }
    last = now;
    return (high + now) * 1000000u / hz;
}

static void lap(void)
{
    put_str("m-lap-us-");
    put_u64(tm_clock_us());
    put_str("\r\n");
}

/* -- input loading ----------------------------------------------------------------- */
static uint32_t elem_size(const tmg_tensor_t *t)
{
    return t->dtype == TM_DTYPE_INT16 ? 2u : (t->dtype == TM_DTYPE_INT32 || t->dtype == TM_DTYPE_FLOAT32) ? 4u : 1u;
}

static uint32_t input_bytes(int floats)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < TMG_NUM_INPUTS; ++i) {
        n += floats ? tmg_inputs[i].bytes / elem_size(&tmg_inputs[i]) * 4u : tmg_inputs[i].bytes;
    }
    return n;
}

/* Byte `pos` of the inputs packed back to back, as a location in the firmware's buffer. */
static volatile uint8_t *input_at(uint32_t pos, const tmg_tensor_t **tensor)
{
    uint32_t i = 0;
    while (i + 1u < TMG_NUM_INPUTS && pos >= tmg_inputs[i].bytes) {
        pos -= tmg_inputs[i++].bytes;
    }
    *tensor = &tmg_inputs[i];
    return tm_input_bytes(i) + pos;
}

/* One float32 element (element index `e`) quantized like TFLite's QUANTIZE. */
static void store_float(uint32_t e, const uint8_t raw[4])
{
    float x;
    memcpy(&x, raw, 4);
    uint32_t pos = 0;
    const tmg_tensor_t *t;
    for (uint32_t i = 0; i < TMG_NUM_INPUTS; ++i) {   /* element e -> byte position */
        const uint32_t count = tmg_inputs[i].bytes / elem_size(&tmg_inputs[i]);
        if (e < count || i + 1u == TMG_NUM_INPUTS) {
            pos += e * elem_size(&tmg_inputs[i]);
            break;
        }
        e -= count;
        pos += tmg_inputs[i].bytes;
    }
    volatile uint8_t *dst = input_at(pos, &t);
    if (t->dtype == TM_DTYPE_FLOAT32) {
        memcpy((void *)dst, raw, 4);
        return;
    }
    const int32_t lo = t->dtype == TM_DTYPE_INT8 ? -128 : 0, hi = t->dtype == TM_DTYPE_INT8 ? 127 : 255;
    float q = roundf(x / t->scale) + (float)t->zero_point;
    q = q < (float)lo ? (float)lo : q > (float)hi ? (float)hi : q;
    *dst = (uint8_t)(int32_t)q;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void db_load(const char *arg)
{
    uint32_t n = 0;
    for (; arg && *arg >= '0' && *arg <= '9'; ++arg) {
        n = n * 10u + (uint32_t)(*arg - '0');
    }
    if (!arg || *arg || n == 0u) {
        error("Command 'db load' requires the # of bytes");
        return;
    }
    if (n != input_bytes(0) && n != input_bytes(1)) {
        error("db load: N must be the inputs' bytes, or 4 bytes per element for float32");
        return;
    }
    for (uint32_t i = 0; i < TMG_NUM_INPUTS; ++i) {
        const uint8_t dtype = tmg_inputs[i].dtype;
        if (n != input_bytes(0) && dtype != TM_DTYPE_FLOAT32 &&
            ((dtype != TM_DTYPE_INT8 && dtype != TM_DTYPE_UINT8) || tmg_inputs[i].scale == 0.0f)) {
            error("db load: float32 data needs quantized int8/uint8 inputs");
            return;
        }
    }
    load_size = n;
    load_pos = 0;
    load_float = n != input_bytes(0);
    put_str("m-[Expecting ");
    put_u64(n);
    say(" bytes]");
}

static void db_hex(const char *hex)
{
    const size_t len = strlen(hex);
    if (load_size == 0u) {
        error("Send db load N first");
        return;
    }
    if (len & 1u) {
        error("Insufficent number of hex digits");
        return;
    }
    for (size_t i = 0; i < len && load_pos < load_size; i += 2u) {
        const int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1u]);
        if (hi < 0 || lo < 0) {
            error("Invalid hex digit");
            return;
        }
        const uint8_t b = (uint8_t)(hi << 4 | lo);
        if (load_float) {
            float_part[load_pos & 3u] = b;
            if ((load_pos & 3u) == 3u) {
                store_float(load_pos >> 2, float_part);
            }
        } else {
            const tmg_tensor_t *t;
            *input_at(load_pos, &t) = b;
        }
        if (++load_pos == load_size) {
            say("m-load-done");
        }
    }
}

static void db_print(void)
{
    /* The inputs in the model's dtype: float32 data shows once quantized, i.e. complete. */
    const uint32_t n = !load_float ? load_pos : load_pos == load_size ? input_bytes(0) : 0u;
    for (uint32_t i = 0; i < n; ++i) {
        const tmg_tensor_t *t;
        if (i % 8u == 0u) {
            put_str("m-buffer-");
        }
        put_hex2(*input_at(i, &t));
        put_str(i % 8u == 7u || i + 1u == n ? "\r\n" : "-");
    }
}

/* -- inference ---------------------------------------------------------------------- */
static void results(void)
{
    put_str("m-results-[");
    for (uint32_t i = 0; i < TMG_NUM_OUTPUTS; ++i) {
        const tmg_tensor_t *t = &tmg_outputs[i];
        const uint8_t *p = tm_output_bytes(i);
        for (uint32_t k = 0; k < t->bytes / elem_size(t); ++k) {
            int64_t q = 0;
            float f = 0.0f;
            switch (t->dtype) {
            case TM_DTYPE_INT8: q = (int8_t)p[k]; break;
            case TM_DTYPE_UINT8: q = p[k]; break;
            case TM_DTYPE_INT16: { int16_t v; memcpy(&v, &p[2u * k], 2); q = v; } break;
            case TM_DTYPE_INT32: { int32_t v; memcpy(&v, &p[4u * k], 4); q = v; } break;
            default: memcpy(&f, &p[4u * k], 4); break;
            }
            if (i || k) {
                tm_uart_putc(',');
            }
            if (t->dtype == TM_DTYPE_FLOAT32 || t->scale != 0.0f) {
                put_float(t->dtype == TM_DTYPE_FLOAT32 ? f : (float)(q - t->zero_point) * t->scale);
            } else {
                put_i64(q);   /* an unquantized integer output (argmax, say) */
            }
        }
    }
    say("]");
}

static uint32_t parse_count(const char *s, uint32_t fallback, int *ok)
{
    if (!s) {
        return fallback;
    }
    uint32_t n = 0;
    for (; *s >= '0' && *s <= '9'; ++s) {
        n = n * 10u + (uint32_t)(*s - '0');
    }
    *ok = *ok && *s == '\0';
    return n;
}

static void infer(const char *n_arg, const char *w_arg)
{
    int ok = 1;
    uint32_t n = parse_count(n_arg, 1u, &ok), w = parse_count(w_arg, 10u, &ok);
    if (!ok || n == 0u) {
        error("Inference iterations must be >0");
        return;
    }
    if (load_size == 0u || load_pos != load_size) {
        error("No input: send db load N and N bytes first");
        return;
    }
    int32_t status = 0;
    put_str("m-warmup-start-");
    put_u64(w);
    say("");
    for (uint32_t i = 0; i < w && !status; ++i) {
        status = tm_invoke().status;
    }
    say("m-warmup-done");
    put_str("m-infer-start-");
    put_u64(n);
    say("");
    lap();
    for (uint32_t i = 0; i < n && !status; ++i) {
        status = tm_invoke().status;
    }
    lap();
    say("m-infer-done");
    if (status) {
        put_str("e-[Inference failed with status ");
        put_i64(status);
        say("]");
        return;
    }
    results();
}

/* -- command loop ------------------------------------------------------------------- */
static uint32_t read_command(void)
{
    uint32_t n = 0, overflow = 0;
    for (;;) {
        const char c = (char)tm_uart_getc();
        if (c == '%') {
            break;
        }
        if (c == '\r' || c == '\n' || (c == ' ' && n == 0u)) {
            continue;
        }
        if (n < LINE_MAX) {
            line[n++] = c;
        } else {
            overflow = 1;
        }
    }
    line[n] = '\0';
    return overflow;
}

static void dispatch(void)
{
    /* Split on spaces in place (newlib's strtok would pull in its reentrancy support). */
    char *tok[4] = {0, 0, 0, 0};
    uint32_t count = 0;
    for (char *p = line; *p && count < 4u;) {
        while (*p == ' ') {
            *p++ = '\0';
        }
        if (*p) {
            tok[count++] = p;
        }
        while (*p && *p != ' ') {
            ++p;
        }
    }
    if (!count) {
        return;
    }
    if (!strcmp(tok[0], "name")) {
        say("m-name-dut-[tinyml]");
    } else if (!strcmp(tok[0], "profile")) {
        say("m-profile-[tinyml-eval]");
        say("m-model-[" TM_MLPERF_MODEL "]");
    } else if (!strcmp(tok[0], "timestamp")) {
        lap();
    } else if (!strcmp(tok[0], "db") && tok[1] && !strcmp(tok[1], "load")) {
        db_load(tok[2]);
    } else if (!strcmp(tok[0], "db") && tok[1] && !strcmp(tok[1], "print")) {
        db_print();
    } else if (!strcmp(tok[0], "db") && tok[1]) {
        db_hex(tok[1]);
    } else if (!strcmp(tok[0], "db")) {
        error("Command 'db' requires a subcommand");
    } else if (!strcmp(tok[0], "infer")) {
        infer(tok[1], tok[2]);
    } else if (!strcmp(tok[0], "results")) {
        results();
    } else {
        put_str("e-[Command not recognized: ");
        put_str(tok[0]);
        say("]");
    }
}

void tm_serve(void)
{
    say("m-timestamp-mode-performance");
    lap();
    say("m-init-done");
    say("m-ready");
    for (;;) {
        if (read_command()) {
            error("Command too long");
        } else {
            dispatch();
        }
        say("m-ready");
    }
}
