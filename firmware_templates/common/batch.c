/* Batch mode: inferences on preloaded samples; outputs and stats go out as frames:
 *   RESULT: sample u32, output index u8, offset u32, bytes
 *   STATS:  sample u32, status i32, counter kind u8, count u64, peak stack u32 */
#include <string.h>

#include "tm_frame.h"
#include "tm_fw.h"
#include "tm_io.h"

#define CHUNK 512u

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void send_outputs(uint32_t sample)
{
    for (uint32_t i = 0; i < TMG_NUM_OUTPUTS; ++i) {
        const tmg_tensor_t *t = &tmg_outputs[i];
        for (uint32_t off = 0; off < t->bytes; off += CHUNK) {
            uint32_t n = t->bytes - off < CHUNK ? t->bytes - off : CHUNK;
            uint8_t head[9];
            put_u32(head, sample);
            head[4] = (uint8_t)i;
            put_u32(&head[5], off);
            tm_frame_begin(TM_CMD_RESULT, 0, (uint16_t)(sizeof head + n));
            tm_frame_put(head, sizeof head);
            tm_frame_put(tm_output_bytes(i) + off, n);
            tm_frame_end();
        }
    }
}

int tm_run_batch(void)
{
    if (tm_batch.sample_bytes != TMG_INPUT_TOTAL) {
        return TM_EXIT_FAULT - 1;   /* host and firmware disagree on the input layout */
    }
    int first_error = 0;
    for (uint32_t s = 0; s < tm_batch.count; ++s) {
        tm_load_sample(s);
        tm_invoke_result_t r = tm_invoke();
        send_outputs(s);
        struct __attribute__((packed)) {
            uint32_t sample;
            int32_t status;
            uint8_t counter_kind;
            uint64_t count;
            uint32_t peak_stack;
        } stats = {s, r.status, r.counter_kind, r.count, tm_stack_peak()};
        tm_frame_send(TM_CMD_STATS, 0, &stats, sizeof stats);
        if (r.status && !first_error) {
            first_error = (int)r.status;
        }
    }
    return first_error;
}
