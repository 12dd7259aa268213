/* Program exit and reset. Under QEMU (TM_SEMIHOSTING) the exit code reaches the host via
   SYS_EXIT_EXTENDED, which carries any status (legacy SYS_EXIT only tells 0 or 1). */
#include "tm_fw.h"

#define TM_SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)

void tm_exit(int code)
{
    tm_uart_flush();
#if defined(TM_SEMIHOSTING)
    static uint32_t block[2];
    block[0] = 0x20026u;          /* ADP_Stopped_ApplicationExit */
    block[1] = (uint32_t)code;
    register uint32_t r0 __asm("r0") = 0x20u;   /* SYS_EXIT_EXTENDED */
    register uint32_t *r1 __asm("r1") = block;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
#else
    (void)code;
#endif
    for (;;) {
        __asm volatile("wfi");
    }
}

void tm_system_reset(void)
{
    tm_uart_flush();
    __asm volatile("dsb" ::: "memory");
    TM_SCB_AIRCR = (0x5FAu << 16) | (1u << 2);  /* VECTKEY | SYSRESETREQ */
    __asm volatile("dsb" ::: "memory");
    for (;;) {
    }
}
