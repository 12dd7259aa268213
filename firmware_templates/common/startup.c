/* Reset handler and vector table for any Cortex-M (v6-M to v8.1-M, secure or not). */
#include <stdint.h>
#include <string.h>

#include "tm_fw.h"

extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[], __stack_top[];

int main(void);
void Reset_Handler(void);

static void Default_Handler(void)
{
    /* A fault or an unexpected interrupt: make it visible as an exit status. */
    tm_exit(TM_EXIT_FAULT);
}

typedef void (*tm_vector_t)(void);

/* 16 system vectors + 64 IRQs (covers the mps2-an505 UART lines at 32+). */
__attribute__((section(".vectors"), used))
const tm_vector_t tm_vectors[16 + 64] = {
    [0] = (tm_vector_t)(uintptr_t)__stack_top,
    [1] = Reset_Handler,
    [2 ... 16 + 63] = Default_Handler,
};

void Reset_Handler(void)
{
#if defined(__ARM_FP)
    /* CP10/CP11 full access before any floating-point instruction runs. */
    volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
    *cpacr |= 0xFu << 20;
    __asm volatile("dsb\n\tisb" ::: "memory");
#endif
    memcpy(__data_start, __data_load, (size_t)((uintptr_t)__data_end - (uintptr_t)__data_start));
    memset(__bss_start, 0, (size_t)((uintptr_t)__bss_end - (uintptr_t)__bss_start));
    tm_stack_paint();
    tm_exit(main());
}
