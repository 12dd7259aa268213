/* The firmware's model I/O buffers and one timed inference. */
#ifndef TM_IO_H
#define TM_IO_H

#include <stdint.h>

#include "tm_model_glue.h"

/* Counter kinds, as reported to the host. */
#define TM_COUNTER_NONE 0u          /* the host measures (QEMU plugin) */
#define TM_COUNTER_CYCLES 1u        /* DWT CYCCNT */

/* Batch control block + inputs, preloaded by the host into RAM that reset leaves alone.
   Sample 0 sits in `inputs`; samples 1..count-1 follow it, in free RAM above static data
   (each is copied into place before its inference). A model whose inputs live in its arena
   (TMG_IO_IN_ARENA) keeps no input buffer: the host preloads sample 0 straight into the
   arena (tm_arena, not cleared at reset) and samples 1.. from __noinit_end on, in free RAM. */
#define TM_BATCH_MAGIC 0x31424D54u  /* "TMB1" */
typedef struct {
    uint32_t magic;
    uint32_t count;          /* samples */
    uint32_t sample_bytes;   /* = TMG_INPUT_TOTAL: checks host and firmware agree */
    uint32_t reserved;
#if !TMG_IO_IN_ARENA
    uint8_t inputs[TMG_INPUT_TOTAL + 1u];
#endif
} tm_batch_t;

extern volatile tm_batch_t tm_batch;
#if TMG_IO_IN_ARENA
extern uint8_t tm_arena[];
#endif

/* Where input i's bytes go before tm_invoke, and where output i's are after it. */
uint8_t *tm_input_bytes(uint32_t i);
const uint8_t *tm_output_bytes(uint32_t i);
/* Batch sample s (of tm_batch) into the inputs. */
void tm_load_sample(uint32_t s);

typedef struct {
    int32_t status;
    uint8_t counter_kind;
    uint64_t count;
} tm_invoke_result_t;

void tm_counter_init(void);
tm_invoke_result_t tm_invoke(void);

#if TMG_TRAIN
/* One training step on input 0 with `label` and learning rate `lr`; the loss in *loss. */
tm_invoke_result_t tm_train(int32_t label, float lr, float *loss);
/* The parameters back to their flash values. */
void tm_train_reset(void);
#endif

#endif
