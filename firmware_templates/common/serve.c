/* Serve mode: answer framed requests forever (protocol in tm_frame.h). */
#include <string.h>

#include "tm_frame.h"
#include "tm_fw.h"
#include "tm_io.h"

static tm_frame_t req;

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void nak(uint8_t reason)
{
    const uint8_t payload[2] = {reason, req.cmd};
    tm_frame_send(TM_CMD_NAK, req.seq, payload, 2);
}

static void reply(const void *payload, uint16_t len)
{
    tm_frame_send((uint8_t)(req.cmd | TM_CMD_REPLY), req.seq, payload, len);
}

static void put_tensor(uint8_t *buf, uint32_t *n, const tmg_tensor_t *t)
{
    buf[(*n)++] = t->dtype;
    buf[(*n)++] = t->rank;
    memcpy(&buf[*n], t->dims, 4u * t->rank);
    *n += 4u * t->rank;
    memcpy(&buf[*n], &t->bytes, 4);
    memcpy(&buf[*n + 4u], &t->scale, 4);
    memcpy(&buf[*n + 8u], &t->zero_point, 4);
    *n += 12u;
}

/* The reply fits in buf and the name in its u8 length: the glue asserts both at compile time
 * (TMG_INFO_BYTES <= TM_FRAME_MAX_PAYLOAD, name <= TM_INFO_NAME_MAX bytes). */
static void do_info(void)
{
    static uint8_t buf[TM_FRAME_MAX_PAYLOAD];
    const uint32_t arena = TMG_ARENA_SIZE, build = TMG_BUILD_ID;
    const uint16_t max_payload = TM_FRAME_MAX_PAYLOAD;
    uint32_t n = 0;
    buf[n++] = TM_PROTOCOL_VERSION;
    buf[n++] = TMG_NUM_INPUTS;
    buf[n++] = TMG_NUM_OUTPUTS;
#if defined(TM_HAVE_DWT)
    buf[n++] = TM_COUNTER_CYCLES;
#else
    buf[n++] = TM_COUNTER_NONE;
#endif
    memcpy(&buf[n], &arena, 4);
    memcpy(&buf[n + 4u], &build, 4);
    memcpy(&buf[n + 8u], &max_payload, 2);
    n += 10u;
    const uint8_t name_len = (uint8_t)(sizeof TMG_NAME - 1u);
    buf[n++] = name_len;
    memcpy(&buf[n], TMG_NAME, name_len);
    n += name_len;
    for (uint32_t i = 0; i < TMG_NUM_INPUTS; ++i) {
        put_tensor(buf, &n, &tmg_inputs[i]);
    }
    for (uint32_t i = 0; i < TMG_NUM_OUTPUTS; ++i) {
        put_tensor(buf, &n, &tmg_outputs[i]);
    }
    reply(buf, (uint16_t)n);
}

/* payload: index u8, offset u32, then bytes. Idempotent, so a retried chunk is harmless. */
static void do_load(void)
{
    if (req.len < 5u || req.payload[0] >= TMG_NUM_INPUTS) {
        nak(TM_NAK_ARGUMENT);
        return;
    }
    const tmg_tensor_t *t = &tmg_inputs[req.payload[0]];
    uint32_t off = get_u32(&req.payload[1]), n = req.len - 5u;
    if (off > t->bytes || n > t->bytes - off) {
        nak(TM_NAK_ARGUMENT);
        return;
    }
    memcpy(tm_input_bytes(req.payload[0]) + off, &req.payload[5], n);
    reply(0, 0);
}

static void do_invoke(void)
{
    tm_invoke_result_t r = tm_invoke();
    struct __attribute__((packed)) {
        int32_t status;
        uint8_t counter_kind;
        uint64_t count;
        uint32_t peak_stack;
    } out = {r.status, r.counter_kind, r.count, tm_stack_peak()};
    reply(&out, sizeof out);
}

/* payload: index u8, offset u32, length u16. */
static void do_read(void)
{
    if (req.len != 7u || req.payload[0] >= TMG_NUM_OUTPUTS) {
        nak(TM_NAK_ARGUMENT);
        return;
    }
    const tmg_tensor_t *t = &tmg_outputs[req.payload[0]];
    uint32_t off = get_u32(&req.payload[1]);
    uint32_t n = (uint32_t)req.payload[5] | ((uint32_t)req.payload[6] << 8);
    if (off > t->bytes || n > t->bytes - off || n > TM_FRAME_MAX_PAYLOAD) {
        nak(TM_NAK_ARGUMENT);
        return;
    }
    reply(tm_output_bytes(req.payload[0]) + off, (uint16_t)n);
}

#if TMG_TRAIN
/* reply: state bytes u32, classes u32 */
static void do_train_info(void)
{
    const uint32_t out[2] = {TMG_STATE_SIZE, TMG_NUM_CLASSES};
    reply(out, sizeof out);
}

/* payload: label i32, learning rate f32 */
static void do_train(void)
{
    if (req.len != 8u) {
        nak(TM_NAK_ARGUMENT);
        return;
    }
    int32_t label;
    float lr;
    memcpy(&label, &req.payload[0], 4);
    memcpy(&lr, &req.payload[4], 4);
    float loss = 0.0f;
    tm_invoke_result_t r = tm_train(label, lr, &loss);
    struct __attribute__((packed)) {
        int32_t status;
        uint8_t counter_kind;
        uint64_t count;
        uint32_t peak_stack;
        float loss;
    } out = {r.status, r.counter_kind, r.count, tm_stack_peak(), loss};
    reply(&out, sizeof out);
}

/* payload: offset u32, length u16 */
static void do_read_state(void)
{
    if (req.len != 6u) {
        nak(TM_NAK_ARGUMENT);
        return;
    }
    uint32_t off = get_u32(&req.payload[0]);
    uint32_t n = (uint32_t)req.payload[4] | ((uint32_t)req.payload[5] << 8);
    if (off > TMG_STATE_SIZE || n > TMG_STATE_SIZE - off || n > TM_FRAME_MAX_PAYLOAD) {
        nak(TM_NAK_ARGUMENT);
        return;
    }
    reply(tm_state() + off, (uint16_t)n);
}

/* payload: offset u32, then bytes (a state read from another device) */
static void do_write_state(void)
{
    if (req.len < 4u) {
        nak(TM_NAK_ARGUMENT);
        return;
    }
    uint32_t off = get_u32(&req.payload[0]), n = req.len - 4u;
    if (off > TMG_STATE_SIZE || n > TMG_STATE_SIZE - off) {
        nak(TM_NAK_ARGUMENT);
        return;
    }
    memcpy(tm_state() + off, &req.payload[4], n);
    reply(0, 0);
}
#endif

void tm_serve(void)
{
    const uint32_t build = TMG_BUILD_ID;
    const uint8_t hello[5] = {TM_PROTOCOL_VERSION, (uint8_t)build, (uint8_t)(build >> 8),
                              (uint8_t)(build >> 16), (uint8_t)(build >> 24)};
    tm_frame_send(TM_CMD_HELLO, 0, hello, sizeof hello);
    for (;;) {
        int bad = tm_frame_read(&req);
        if (bad) {
            nak((uint8_t)bad);
            continue;
        }
        switch (req.cmd) {
        case TM_CMD_INFO: do_info(); break;
        case TM_CMD_LOAD_INPUT: do_load(); break;
        case TM_CMD_INVOKE: do_invoke(); break;
        case TM_CMD_READ_OUTPUT: do_read(); break;
#if TMG_TRAIN
        case TM_CMD_TRAIN_INFO: do_train_info(); break;
        case TM_CMD_TRAIN: do_train(); break;
        case TM_CMD_READ_STATE: do_read_state(); break;
        case TM_CMD_WRITE_STATE: do_write_state(); break;
        case TM_CMD_TRAIN_RESET:
            tm_train_reset();
            reply(0, 0);
            break;
#endif
        case TM_CMD_RESET:
            reply(0, 0);
            tm_system_reset();
        default: nak(TM_NAK_COMMAND); break;
        }
    }
}
