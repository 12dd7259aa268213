/* nRF52 UARTE (EasyDMA UART), one byte per DMA transfer; the receiver's FIFO holds the
 * bytes that arrive between two transfers. nRF52840-DK pins: TX P0.06, RX P0.08.
 * Untested on hardware so far: built with -Werror by the tests only. */
#include "tm_fw.h"

#define REG(off) (*(volatile uint32_t *)(TM_UART_BASE + (off)))
#define TASKS_STARTRX REG(0x000u)
#define TASKS_STARTTX REG(0x008u)
#define EVENTS_ENDRX REG(0x110u)
#define EVENTS_ENDTX REG(0x120u)
#define ENABLE REG(0x500u)
#define PSEL_TXD REG(0x50Cu)
#define PSEL_RXD REG(0x514u)
#define BAUDRATE REG(0x524u)
#define RXD_PTR REG(0x534u)
#define RXD_MAXCNT REG(0x538u)
#define TXD_PTR REG(0x544u)
#define TXD_MAXCNT REG(0x548u)
#define CONFIG REG(0x56Cu)

#define CLOCK_TASKS_HFCLKSTART (*(volatile uint32_t *)0x40000000u)
#define CLOCK_EVENTS_HFCLKSTARTED (*(volatile uint32_t *)0x40000100u)

#ifndef TM_UART_TX_PIN
#define TM_UART_TX_PIN 6u
#endif
#ifndef TM_UART_RX_PIN
#define TM_UART_RX_PIN 8u
#endif

static volatile uint8_t rx_byte, tx_byte;   /* EasyDMA reads and writes RAM only */
static int tx_started;

void tm_uart_init(void)
{
    /* The crystal oscillator: the internal one is too coarse for reliable 115200 baud. */
    CLOCK_EVENTS_HFCLKSTARTED = 0;
    CLOCK_TASKS_HFCLKSTART = 1;
    while (!CLOCK_EVENTS_HFCLKSTARTED) {
    }
    PSEL_TXD = TM_UART_TX_PIN;
    PSEL_RXD = TM_UART_RX_PIN;
    BAUDRATE = 0x01D7E000u;   /* 115200 */
    CONFIG = 0;               /* 8N1, no flow control */
    ENABLE = 8u;
    EVENTS_ENDRX = 0;
    RXD_PTR = (uint32_t)(uintptr_t)&rx_byte;
    RXD_MAXCNT = 1;
    TASKS_STARTRX = 1;
}

void tm_uart_flush(void)
{
    if (tx_started) {
        while (!EVENTS_ENDTX) {
        }
    }
}

void tm_uart_putc(uint8_t c)
{
    tm_uart_flush();
    EVENTS_ENDTX = 0;
    tx_byte = c;
    TXD_PTR = (uint32_t)(uintptr_t)&tx_byte;
    TXD_MAXCNT = 1;
    TASKS_STARTTX = 1;
    tx_started = 1;
}

uint8_t tm_uart_getc(void)
{
    while (!EVENTS_ENDRX) {
    }
    EVENTS_ENDRX = 0;
    uint8_t c = rx_byte;
    TASKS_STARTRX = 1;
    return c;
}

void tm_uart_write(const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        tm_uart_putc(data[i]);
    }
}
