/* Batch mode: one inference on preloaded inputs; outputs and stats go out as frames. */
#include "tm_frame.h"
#include "tm_fw.h"
#include "tm_io.h"

#define CHUNK 512u

int tm_run_batch(void)
{
    tm_invoke_result_t r = tm_invoke();
    for (uint32_t i = 0; i < TMG_NUM_OUTPUTS; ++i) {
        const tmg_tensor_t *t = &tmg_outputs[i];
        for (uint32_t off = 0; off < t->bytes; off += CHUNK) {
            uint32_t n = t->bytes - off < CHUNK ? t->bytes - off : CHUNK;
            const uint8_t head[5] = {(uint8_t)i, (uint8_t)off, (uint8_t)(off >> 8),
                                     (uint8_t)(off >> 16), (uint8_t)(off >> 24)};
            tm_frame_begin(TM_CMD_RESULT, 0, (uint16_t)(5u + n));
            tm_frame_put(head, 5);
            tm_frame_put(&tm_outputs[t->offset + off], n);
            tm_frame_end();
        }
    }
    struct __attribute__((packed)) {
        int32_t status;
        uint8_t counter_kind;
        uint64_t count;
        uint32_t peak_stack;
    } stats = {r.status, r.counter_kind, r.count, tm_stack_peak()};
    tm_frame_send(TM_CMD_STATS, 0, &stats, sizeof stats);
    return (int)r.status;
}
