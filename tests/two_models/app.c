/* Two generated models in one program: each runs on a fixed input pattern and prints its
 * status and output bytes as one line ("alpha 0: -3 17 ..."). Built for the host (stdio)
 * and, with -DTM_FIRMWARE, as bare-metal firmware writing to the board's UART. */
#include <stdint.h>

#include "alpha.h"
#include "beta.h"

#if defined(TM_FIRMWARE)
#include "tm_fw.h"
static void put_char(char c) { tm_uart_putc((uint8_t)c); }
/* The runtime (stack.c) paints the stack from here up; this firmware preloads nothing. */
extern uint32_t __noinit_end[];
uintptr_t tm_stack_floor(void);
uintptr_t tm_stack_floor(void) { return (uintptr_t)__noinit_end; }
#else
#include <stdio.h>
static void put_char(char c) { putchar(c); }
#endif

static uint8_t arena_alpha[ALPHA_ARENA_SIZE] __attribute__((aligned(ALPHA_ARENA_ALIGN)));
static uint8_t arena_beta[BETA_ARENA_SIZE] __attribute__((aligned(BETA_ARENA_ALIGN)));
static int8_t in_alpha[ALPHA_INPUT0_SIZE], out_alpha[ALPHA_OUTPUT0_SIZE];
static int8_t in_beta[BETA_INPUT0_SIZE], out_beta[BETA_OUTPUT0_SIZE];

/* The pattern the test computes too: x[i] = low byte of (37 i + 11 seed). */
static void fill(int8_t *x, int n, int seed)
{
    for (int i = 0; i < n; i++) {
        x[i] = (int8_t)(uint8_t)((37 * i + 11 * seed) & 0xFF);
    }
}

static void put_str(const char *s)
{
    while (*s) {
        put_char(*s++);
    }
}

static void put_int(int v)
{
    char digits[12];
    int n = 0;
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    if (v < 0) {
        put_char('-');
    }
    do {
        digits[n++] = (char)('0' + u % 10u);
        u /= 10u;
    } while (u);
    while (n) {
        put_char(digits[--n]);
    }
}

static void report(const char *name, int status, const int8_t *y, int n)
{
    put_str(name);
    put_char(' ');
    put_int(status);
    put_char(':');
    for (int i = 0; i < n; i++) {
        put_char(' ');
        put_int(y[i]);
    }
    put_char('\n');
}

int main(void)
{
#if defined(TM_FIRMWARE)
    tm_uart_init();
#endif
    fill(in_alpha, ALPHA_INPUT0_SIZE, 1);
    fill(in_beta, BETA_INPUT0_SIZE, 2);
    int sa = alpha_invoke(in_alpha, out_alpha, arena_alpha);
    int sb = beta_invoke(in_beta, out_beta, arena_beta);
    report("alpha", sa, out_alpha, ALPHA_OUTPUT0_SIZE);
    report("beta", sb, out_beta, BETA_OUTPUT0_SIZE);
    return sa || sb;
}
