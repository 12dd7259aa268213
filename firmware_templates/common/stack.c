/* Peak stack use by painting: fill the stack budget below the live stack with a pattern
   at reset, later find the lowest word that no longer holds it. */
#include "tm_fw.h"

#define TM_STACK_PAINT 0xA5C3A5C3u
#define TM_STACK_MARGIN 64u   /* bytes below sp left alone: the painter's own frame */

extern uint32_t __stack_top[], __stack_limit[];
uintptr_t tm_stack_floor(void);   /* first free word above static and preloaded data */
static uint32_t *floor_;

static uint32_t *current_sp(void)
{
    uint32_t *sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

void tm_stack_paint(void)
{
    uint32_t *end = current_sp() - TM_STACK_MARGIN / 4u;
    /* Only the stack budget is painted: painting all free RAM costs millions of
       (counted, emulated) instructions per scan on the 4 MB mps2 boards. */
    uintptr_t floor = tm_stack_floor();
    floor_ = floor > (uintptr_t)__stack_limit ? (uint32_t *)floor : __stack_limit;
    for (volatile uint32_t *p = floor_; p < end; ++p) {
        *p = TM_STACK_PAINT;
    }
}

uint32_t tm_stack_peak(void)
{
    const uint32_t *p = floor_;
    while (p < __stack_top && *p == TM_STACK_PAINT) {
        ++p;
    }
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)p);
}
