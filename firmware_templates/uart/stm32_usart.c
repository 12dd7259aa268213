/* STM32 USART/LPUART (the "v2" register layout of STM32L4, F7, G4, H7...), polled.
 * Board set-up (clocks, pins) is selected by TM_BOARD_* since it differs per board.
 * Untested on hardware so far: built with -Werror by the tests only. */
#include "tm_fw.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define U_CR1 REG(TM_UART_BASE + 0x00u)
#define U_BRR REG(TM_UART_BASE + 0x0Cu)
#define U_ISR REG(TM_UART_BASE + 0x1Cu)
#define U_ICR REG(TM_UART_BASE + 0x20u)
#define U_RDR REG(TM_UART_BASE + 0x24u)
#define U_TDR REG(TM_UART_BASE + 0x28u)

#define CR1_UE (1u << 0)
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define ISR_ORE (1u << 3)
#define ISR_RXNE (1u << 5)
#define ISR_TC (1u << 6)
#define ISR_TXE (1u << 7)

/* Puts `pin` of the GPIO port at `gpio` in alternate function `af`. */
static void gpio_af(uint32_t gpio, uint32_t pin, uint32_t af)
{
    REG(gpio + 0x00u) = (REG(gpio + 0x00u) & ~(3u << (2u * pin))) | (2u << (2u * pin));
    uint32_t afr = gpio + (pin < 8u ? 0x20u : 0x24u), shift = 4u * (pin % 8u);
    REG(afr) = (REG(afr) & ~(0xFu << shift)) | (af << shift);
}

#if defined(TM_BOARD_NUCLEO_L4R5ZI)
/* LPUART1 on PG7 (TX) / PG8 (RX), AF8: the ST-LINK virtual COM port. Port G needs VDDIO2. */
static void board_setup(void)
{
    REG(0x40021058u) |= 1u << 28;           /* RCC_APB1ENR1.PWREN */
    REG(0x40007004u) |= 1u << 9;            /* PWR_CR2.IOSV */
    REG(0x4002104Cu) |= 1u << 6;            /* RCC_AHB2ENR.GPIOGEN */
    REG(0x4002105Cu) |= 1u << 0;            /* RCC_APB1ENR2.LPUART1EN */
    gpio_af(0x48001800u, 7, 8);
    gpio_af(0x48001800u, 8, 8);
}
#define BRR_VALUE ((uint32_t)(((uint64_t)TM_CLOCK_HZ * 256u) / TM_BAUD))   /* LPUART */
#elif defined(TM_BOARD_STM32F746G_DISCO)
/* USART1 on PA9 (TX) / PB7 (RX), AF7: the ST-LINK virtual COM port. */
static void board_setup(void)
{
    REG(0x40023830u) |= (1u << 0) | (1u << 1); /* RCC_AHB1ENR.GPIOAEN | GPIOBEN */
    REG(0x40023844u) |= 1u << 4;               /* RCC_APB2ENR.USART1EN */
    gpio_af(0x40020000u, 9, 7);
    gpio_af(0x40020400u, 7, 7);
}
#define BRR_VALUE ((TM_CLOCK_HZ + TM_BAUD / 2u) / TM_BAUD)               /* oversampling 16 */
#elif defined(TM_BOARD_NUCLEO_G071RB)
/* USART2 on PA2 (TX) / PA3 (RX), AF1: the ST-LINK virtual COM port; clocked by HSI16. */
static void board_setup(void)
{
    REG(0x40021034u) |= 1u << 0;               /* RCC_IOPENR.GPIOAEN */
    REG(0x4002103Cu) |= 1u << 17;              /* RCC_APBENR1.USART2EN */
    gpio_af(0x50000000u, 2, 1);
    gpio_af(0x50000000u, 3, 1);
}
#define BRR_VALUE ((TM_CLOCK_HZ + TM_BAUD / 2u) / TM_BAUD)               /* oversampling 16 */
#else
#error "stm32_usart.c: no pin set-up for this board (define TM_BOARD_...)"
#endif

void tm_uart_init(void)
{
    board_setup();
    U_CR1 = 0;
    U_BRR = BRR_VALUE;
    U_CR1 = CR1_UE | CR1_RE | CR1_TE;
}

void tm_uart_putc(uint8_t c)
{
    while (!(U_ISR & ISR_TXE)) {
    }
    U_TDR = c;
}

uint8_t tm_uart_getc(void)
{
    for (;;) {
        uint32_t isr = U_ISR;
        if (isr & ISR_ORE) {
            U_ICR = ISR_ORE;   /* an overrun stalls RX until cleared; the CRC catches the loss */
        }
        if (isr & ISR_RXNE) {
            return (uint8_t)U_RDR;
        }
    }
}

void tm_uart_flush(void)
{
    if (U_CR1 & CR1_UE) {
        while (!(U_ISR & ISR_TC)) {
        }
    }
}

void tm_uart_write(const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        tm_uart_putc(data[i]);
    }
}
