/* nRF51 UART (no DMA: one byte at a time through RXD/TXD, signalled by the RXDRDY/TXDRDY
 * events), as on the BBC micro:bit. Registers from the nRF51 Series Reference Manual.
 * QEMU's model (hw/char/nrf51_uart.c) buffers 6 received bytes, drops a TXD write while a
 * byte is still pending, and takes ENABLE = 4 only. micro:bit pins: TX P0.24, RX P0.25. */
#include "tm_fw.h"

#ifndef TM_UART_BASE
#error "TM_UART_BASE: the board's UART base address"
#endif

#define REG(off) (*(volatile uint32_t *)(TM_UART_BASE + (off)))
#define TASKS_STARTRX REG(0x000u)
#define TASKS_STARTTX REG(0x008u)
#define EVENTS_RXDRDY REG(0x108u)
#define EVENTS_TXDRDY REG(0x11Cu)
#define INTENSET REG(0x304u)
#define ENABLE REG(0x500u)
#define PSELTXD REG(0x50Cu)
#define PSELRXD REG(0x514u)
#define RXD REG(0x518u)
#define TXD REG(0x51Cu)
#define BAUDRATE REG(0x524u)
#define CONFIG REG(0x56Cu)

#define INTEN_RXDRDY (1u << 2)
#define ENABLE_UART 4u
#define BAUD_115200 0x01D7E000u

#define TIMER0_TASKS_START (*(volatile uint32_t *)0x40008000u)
#define TIMER0_TASKS_STOP (*(volatile uint32_t *)0x40008004u)

#define NVIC_ISER (*(volatile uint32_t *)0xE000E100u)
#define NVIC_ICPR (*(volatile uint32_t *)0xE000E280u)

#ifndef TM_UART_TX_PIN
#define TM_UART_TX_PIN 24u
#endif
#ifndef TM_UART_RX_PIN
#define TM_UART_RX_PIN 25u
#endif

static int tx_pending;   /* a byte went to TXD and its TXDRDY has not been seen yet */

void tm_uart_init(void)
{
    PSELTXD = TM_UART_TX_PIN;
    PSELRXD = TM_UART_RX_PIN;
    BAUDRATE = BAUD_115200;
    CONFIG = 0;   /* 8N1, no flow control */
    ENABLE = ENABLE_UART;
    EVENTS_RXDRDY = 0;
    EVENTS_TXDRDY = 0;
    TASKS_STARTTX = 1;
    TASKS_STARTRX = 1;
    /* QEMU looks at a serial backend it found full (before STARTRX) again only when its main
       loop wakes, else the first byte waits ~1 s; arming a timer wakes it. A no-op on the chip. */
    TIMER0_TASKS_START = 1;
    TIMER0_TASKS_STOP = 1;
    /* The RX line is enabled but never taken (PRIMASK set): it only wakes WFI.
       ARMv6-M has 32 lines, one ISER word. */
    INTENSET = INTEN_RXDRDY;
    __asm volatile("cpsid i" ::: "memory");
    NVIC_ISER = 1u << TM_UART_RX_IRQ;
}

void tm_uart_flush(void)
{
    if (tx_pending) {
        while (!EVENTS_TXDRDY) {
        }
    }
}

void tm_uart_putc(uint8_t c)
{
    tm_uart_flush();
    EVENTS_TXDRDY = 0;
    TXD = c;
    tx_pending = 1;
}

uint8_t tm_uart_getc(void)
{
    while (!EVENTS_RXDRDY) {
        __asm volatile("wfi" ::: "memory");
    }
    /* Clear before reading: reading RXD raises RXDRDY again while bytes remain. */
    EVENTS_RXDRDY = 0;
    NVIC_ICPR = 1u << TM_UART_RX_IRQ;
    return (uint8_t)RXD;
}

void tm_uart_write(const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        tm_uart_putc(data[i]);
    }
}
