#include "tm_frame.h"

#include "tm_fw.h"

uint32_t tm_crc32_update(uint32_t crc, const uint8_t *data, uint32_t n)
{
    /* Nibble-wise: a 64-byte table instead of 1 KB, fast enough for a UART. */
    static const uint32_t table[16] = {
        0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
        0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
        0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
    };
    crc = ~crc;
    for (uint32_t i = 0; i < n; ++i) {
        crc ^= data[i];
        crc = (crc >> 4) ^ table[crc & 0xFu];
        crc = (crc >> 4) ^ table[crc & 0xFu];
    }
    return ~crc;
}

int tm_frame_read(tm_frame_t *frame)
{
    /* Hunt for the two-byte magic: garbage on the line is skipped here. */
    uint8_t prev = 0, c = tm_uart_getc();
    while (!(prev == TM_FRAME_MAGIC0 && c == TM_FRAME_MAGIC1)) {
        prev = c;
        c = tm_uart_getc();
    }
    uint8_t header[4];
    for (int i = 0; i < 4; ++i) {
        header[i] = tm_uart_getc();
    }
    frame->cmd = header[0];
    frame->seq = header[1];
    frame->len = (uint16_t)(header[2] | (header[3] << 8));
    if (frame->len > TM_FRAME_MAX_PAYLOAD) {
        return TM_NAK_LENGTH;   /* the host resends; the hunt restarts at its magic */
    }
    for (uint32_t i = 0; i < frame->len; ++i) {
        frame->payload[i] = tm_uart_getc();
    }
    uint32_t wire = 0;
    for (int i = 0; i < 4; ++i) {
        wire |= (uint32_t)tm_uart_getc() << (8 * i);
    }
    uint32_t crc = tm_crc32_update(0, header, 4);
    crc = tm_crc32_update(crc, frame->payload, frame->len);
    return crc == wire ? 0 : TM_NAK_CRC;
}

static uint32_t tx_crc;

void tm_frame_begin(uint8_t cmd, uint8_t seq, uint16_t len)
{
    const uint8_t magic[2] = {TM_FRAME_MAGIC0, TM_FRAME_MAGIC1};
    const uint8_t header[4] = {cmd, seq, (uint8_t)len, (uint8_t)(len >> 8)};
    tm_uart_write(magic, 2);
    tm_uart_write(header, 4);
    tx_crc = tm_crc32_update(0, header, 4);
}

void tm_frame_put(const void *data, uint32_t n)
{
    tm_uart_write(data, n);
    tx_crc = tm_crc32_update(tx_crc, data, n);
}

void tm_frame_end(void)
{
    const uint8_t crc[4] = {(uint8_t)tx_crc, (uint8_t)(tx_crc >> 8), (uint8_t)(tx_crc >> 16),
                            (uint8_t)(tx_crc >> 24)};
    tm_uart_write(crc, 4);
}

void tm_frame_send(uint8_t cmd, uint8_t seq, const void *payload, uint16_t len)
{
    tm_frame_begin(cmd, seq, len);
    tm_frame_put(payload, len);
    tm_frame_end();
}
