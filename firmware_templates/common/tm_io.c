#include <string.h>

#include "tm_io.h"

#include "tm_profile.h"

#define TM_ARENA_ALIGN (TMG_ARENA_ALIGN > 16 ? TMG_ARENA_ALIGN : 16)

__attribute__((section(".tm_noinit"), aligned(16))) volatile tm_batch_t tm_batch;

#if TMG_IO_IN_ARENA
/* Not cleared at reset, so the host can preload a sample's inputs in place. */
__attribute__((section(".tm_noinit"), aligned(TM_ARENA_ALIGN))) uint8_t tm_arena[TMG_ARENA_SIZE + 1u];
#define arena tm_arena

uint8_t *tm_input_bytes(uint32_t i)
{
    return &arena[tmg_input_arena_offsets[i]];
}

const uint8_t *tm_output_bytes(uint32_t i)
{
    return &arena[tmg_output_arena_offsets[i]];
}

void tm_load_sample(uint32_t s)
{
    if (!s) {
        return;   /* preloaded in place */
    }
    extern uint32_t __noinit_end[];
    const uint8_t *samples = (const uint8_t *)__noinit_end;
    for (uint32_t i = 0; i < TMG_NUM_INPUTS; ++i) {
        memcpy(tm_input_bytes(i), &samples[(s - 1u) * TMG_INPUT_TOTAL + tmg_inputs[i].offset],
               tmg_inputs[i].bytes);
    }
}
#else
static uint8_t arena[TMG_ARENA_SIZE + 1u] __attribute__((aligned(TM_ARENA_ALIGN)));

static uint8_t outputs_[TMG_OUTPUT_TOTAL + 1u] __attribute__((aligned(16)));

uint8_t *tm_input_bytes(uint32_t i)
{
    return (uint8_t *)&tm_batch.inputs[tmg_inputs[i].offset];
}

const uint8_t *tm_output_bytes(uint32_t i)
{
    return &outputs_[tmg_outputs[i].offset];
}

void tm_load_sample(uint32_t s)
{
    if (s) {   /* the sample lies above sample 0's place */
        memmove((void *)tm_batch.inputs, (const void *)&tm_batch.inputs[s * TMG_INPUT_TOTAL],
                TMG_INPUT_TOTAL);
    }
}
#endif

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
#if TMG_IO_IN_ARENA
        uintptr_t end = floor + (uintptr_t)(tm_batch.count - 1u) * TMG_INPUT_TOTAL;
#else
        uintptr_t end = (uintptr_t)tm_batch.inputs + (uintptr_t)tm_batch.count * TMG_INPUT_TOTAL;
#endif
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

/* A timed call: the counter at its start, its marks bracketing it for the QEMU plugin. */
static uint32_t tm_timer_start(void)
{
    uint32_t start = 0;
#if defined(TM_HAVE_DWT)
    start = DWT_CYCCNT;
#endif
    tm_mark(TM_MARK_INVOKE_BEGIN);
    return start;
}

static tm_invoke_result_t tm_timer_stop(int32_t status, uint32_t start)
{
    tm_mark(TM_MARK_INVOKE_END);
    tm_invoke_result_t r = {status, TM_COUNTER_NONE, 0};
#if defined(TM_HAVE_DWT)
    r.count = DWT_CYCCNT - start;
    r.counter_kind = TM_COUNTER_CYCLES;
#endif
    (void)start;
    return r;
}

#if TMG_TRAIN
static uint8_t state[TMG_STATE_SIZE] __attribute__((aligned(16)));
static int state_ready;

void tm_train_reset(void)
{
    TMG_TRAIN_INIT(state);
    state_ready = 1;
}

uint8_t *tm_state(void)
{
    if (!state_ready) {
        tm_train_reset();
    }
    return state;
}

tm_invoke_result_t tm_train(int32_t label, float lr, float *loss)
{
    uint8_t *s = tm_state();
    const uint32_t start = tm_timer_start();
    const int status = TMG_TRAIN_STEP((const int8_t *)tm_input_bytes(0), label, lr, s, arena, loss);
    return tm_timer_stop(status, start);
}
#endif

tm_invoke_result_t tm_invoke(void)
{
#if !TMG_IO_IN_ARENA
    const void *inputs[TMG_NUM_INPUTS];
    void *outputs[TMG_NUM_OUTPUTS];
    for (uint32_t i = 0; i < TMG_NUM_INPUTS; ++i) {
        inputs[i] = tm_input_bytes(i);
    }
    for (uint32_t i = 0; i < TMG_NUM_OUTPUTS; ++i) {
        outputs[i] = (void *)tm_output_bytes(i);
    }
#endif
    const uint32_t start = tm_timer_start();
#if TMG_IO_IN_ARENA
    const int status = TMG_INVOKE_ARENA(arena);
#else
    const int status = TMG_INVOKE_IO(inputs, outputs, arena);
#endif
    return tm_timer_stop(status, start);
}
