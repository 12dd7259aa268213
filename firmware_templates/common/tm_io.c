#include "tm_io.h"

#include "tm_profile.h"

__attribute__((section(".tm_noinit"), aligned(16))) volatile tm_batch_t tm_batch;
__attribute__((aligned(16))) uint8_t tm_outputs[TMG_OUTPUT_TOTAL + 1u];
static uint8_t arena[TMG_ARENA_SIZE + 1u] __attribute__((aligned(TMG_ARENA_ALIGN > 16 ? TMG_ARENA_ALIGN : 16)));

#if defined(TM_HAVE_DWT)
#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define DWT_LAR (*(volatile uint32_t *)0xE0001FB0u)
#endif

/* Lowest RAM address the stack painter may use: above preloaded batch samples. */
uintptr_t tm_stack_floor(void)
{
    extern uint32_t __noinit_end[];
    uintptr_t floor = (uintptr_t)__noinit_end;
    if (tm_batch.magic == TM_BATCH_MAGIC && tm_batch.count > 1u) {
        uintptr_t end = (uintptr_t)tm_batch.inputs + (uintptr_t)tm_batch.count * TMG_INPUT_TOTAL;
        floor = end > floor ? (end + 7u) & ~(uintptr_t)7u : floor;
    }
    return floor;
}

void tm_counter_init(void)
{
#if defined(TM_HAVE_DWT)
    DEMCR |= 1u << 24;          /* TRCENA */
    DWT_LAR = 0xC5ACCE55u;      /* unlock on M7; ignored elsewhere */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u;
#endif
}

tm_invoke_result_t tm_invoke(void)
{
    const void *inputs[TMG_NUM_INPUTS];
    void *outputs[TMG_NUM_OUTPUTS];
    for (uint32_t i = 0; i < TMG_NUM_INPUTS; ++i) {
        inputs[i] = (const void *)&tm_batch.inputs[tmg_inputs[i].offset];
    }
    for (uint32_t i = 0; i < TMG_NUM_OUTPUTS; ++i) {
        outputs[i] = &tm_outputs[tmg_outputs[i].offset];
    }
    tm_invoke_result_t r = {0, TM_COUNTER_NONE, 0};
#if defined(TM_HAVE_DWT)
    uint32_t start = DWT_CYCCNT;
#endif
    tm_mark(TM_MARK_INVOKE_BEGIN);
    r.status = TMG_INVOKE_IO(inputs, outputs, arena);
    tm_mark(TM_MARK_INVOKE_END);
#if defined(TM_HAVE_DWT)
    r.count = DWT_CYCCNT - start;
    r.counter_kind = TM_COUNTER_CYCLES;
#endif
    return r;
}
