/* Firmware-wide services: exit, UART, stack use, counters. No vendor SDK. */
#ifndef TM_FW_H
#define TM_FW_H

#include <stddef.h>
#include <stdint.h>

/* Exit codes beyond the model's own status. */
#define TM_EXIT_FAULT 0xFE

void tm_exit(int code) __attribute__((noreturn));

void tm_uart_init(void);
void tm_uart_putc(uint8_t c);
void tm_uart_write(const uint8_t *data, size_t n);
uint8_t tm_uart_getc(void);       /* blocks, sleeping in WFI when the driver can */
void tm_uart_flush(void);         /* returns once the last byte has left */

void tm_stack_paint(void);        /* called once at reset, before main */
uint32_t tm_stack_peak(void);     /* bytes of stack ever used since the paint */

void tm_system_reset(void) __attribute__((noreturn));

#endif
