/* The framed serial protocol, device side. Frame on the wire:
 *   0xA5 0x5A | cmd u8 | seq u8 | len u16 LE | payload[len] | crc32 LE
 * crc32 is IEEE 802.3 (zlib's) over cmd..payload. Requests carry a host sequence number
 * that the answer echoes; answers use cmd | 0x80, a refusal is TM_CMD_NAK. */
#ifndef TM_FRAME_H
#define TM_FRAME_H

#include <stdint.h>

#define TM_FRAME_MAGIC0 0xA5u
#define TM_FRAME_MAGIC1 0x5Au
#define TM_FRAME_MAX_PAYLOAD 1024u
#define TM_PROTOCOL_VERSION 2u   /* 2: INFO dtypes are the header's TM_DTYPE_* values */
#define TM_INFO_NAME_MAX 64u     /* longest model name INFO carries (the host's INFO_NAME_MAX) */

enum {
    TM_CMD_INFO = 0x01,
    TM_CMD_LOAD_INPUT = 0x02,
    TM_CMD_INVOKE = 0x03,
    TM_CMD_READ_OUTPUT = 0x04,
    TM_CMD_RESET = 0x05,
    TM_CMD_TRAIN = 0x06,      /* a model compiled with --train: one step on input 0 */
    TM_CMD_READ_STATE = 0x07,
    TM_CMD_TRAIN_RESET = 0x08,
    TM_CMD_TRAIN_INFO = 0x09,
    TM_CMD_WRITE_STATE = 0x0A,
    TM_CMD_RESULT = 0x10,     /* batch mode, device -> host: an output chunk */
    TM_CMD_STATS = 0x11,      /* batch mode, device -> host: status and counters */
    TM_CMD_HELLO = 0x7E,      /* device -> host, unsolicited at boot */
    TM_CMD_NAK = 0x7F,
    TM_CMD_REPLY = 0x80,
};

enum {
    TM_NAK_CRC = 1,
    TM_NAK_LENGTH = 2,
    TM_NAK_COMMAND = 3,
    TM_NAK_ARGUMENT = 4,
};

typedef struct {
    uint8_t cmd;
    uint8_t seq;
    uint16_t len;
    uint8_t payload[TM_FRAME_MAX_PAYLOAD];
} tm_frame_t;

uint32_t tm_crc32_update(uint32_t crc, const uint8_t *data, uint32_t n);

/* Reads the next frame, skipping anything before a magic. 0, or a TM_NAK_* reason. */
int tm_frame_read(tm_frame_t *frame);

/* Streams one frame out: begin, any number of puts totalling len bytes, end. */
void tm_frame_begin(uint8_t cmd, uint8_t seq, uint16_t len);
void tm_frame_put(const void *data, uint32_t n);
void tm_frame_end(void);
void tm_frame_send(uint8_t cmd, uint8_t seq, const void *payload, uint16_t len);

#endif
