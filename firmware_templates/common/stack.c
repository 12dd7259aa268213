/* Peak stack use by painting: fill free RAM below the live stack with a pattern at
   reset, later find the lowest word that no longer holds it. */
#include "tm_fw.h"

#define TM_STACK_PAINT 0xA5C3A5C3u
#define TM_STACK_MARGIN 64u   /* bytes below sp left alone: the painter's own frame */

extern uint32_t __noinit_end[], __stack_top[];

static uint32_t *current_sp(void)
{
    uint32_t *sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

void tm_stack_paint(void)
{
    uint32_t *end = current_sp() - TM_STACK_MARGIN / 4u;
    for (volatile uint32_t *p = __noinit_end; p < end; ++p) {
        *p = TM_STACK_PAINT;
    }
}

uint32_t tm_stack_peak(void)
{
    const uint32_t *p = __noinit_end;
    while (p < __stack_top && *p == TM_STACK_PAINT) {
        ++p;
    }
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)p);
}
