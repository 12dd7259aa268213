/* Arm CMSDK APB UART (mps2 boards). Registers from the CMSDK TRM. */
#include "tm_fw.h"

#ifndef TM_UART_BASE
#error "TM_UART_BASE: the board's UART base address"
#endif

#define UART_DATA (*(volatile uint32_t *)(TM_UART_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t *)(TM_UART_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t *)(TM_UART_BASE + 0x08u))
#define UART_INTCLEAR (*(volatile uint32_t *)(TM_UART_BASE + 0x0Cu))
#define UART_BAUDDIV (*(volatile uint32_t *)(TM_UART_BASE + 0x10u))

#define STATE_TX_FULL (1u << 0)
#define STATE_RX_FULL (1u << 1)
#define CTRL_TX_EN (1u << 0)
#define CTRL_RX_EN (1u << 1)
#define CTRL_RX_IRQ_EN (1u << 3)
#define INT_RX (1u << 1)

#define NVIC_ISER(n) (*(volatile uint32_t *)(0xE000E100u + 4u * (n)))
#define NVIC_ICPR(n) (*(volatile uint32_t *)(0xE000E280u + 4u * (n)))

void tm_uart_init(void)
{
    UART_BAUDDIV = TM_CLOCK_HZ / TM_BAUD;   /* QEMU drops TX when the divisor is < 16 */
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_IRQ_EN;
    (void)UART_DATA;   /* a first read kicks QEMU's backend, else the first byte stalls ~1 s */
    UART_INTCLEAR = INT_RX;
    /* The RX line is enabled but never taken (PRIMASK set): it only wakes WFI. */
    __asm volatile("cpsid i" ::: "memory");
    NVIC_ISER(TM_UART_RX_IRQ / 32u) = 1u << (TM_UART_RX_IRQ % 32u);
}

void tm_uart_putc(uint8_t c)
{
    while (UART_STATE & STATE_TX_FULL) {
    }
    UART_DATA = c;
}

uint8_t tm_uart_getc(void)
{
    while (!(UART_STATE & STATE_RX_FULL)) {
        __asm volatile("wfi" ::: "memory");
    }
    uint8_t c = (uint8_t)UART_DATA;
    UART_INTCLEAR = INT_RX;
    NVIC_ICPR(TM_UART_RX_IRQ / 32u) = 1u << (TM_UART_RX_IRQ % 32u);
    return c;
}

void tm_uart_flush(void)
{
    while (UART_STATE & STATE_TX_FULL) {
    }
}

void tm_uart_write(const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        tm_uart_putc(data[i]);
    }
}
