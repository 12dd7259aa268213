/* The test vectors on a board, over its UART; the exit status reaches QEMU by semihosting
 * (firmware_templates/common/exit.c). */
#include <stdint.h>

#include "dsp_vectors.h"
#include "tm_fw.h"

void tm_stack_paint(void)
{
    /* startup.c paints the stack to measure it; nothing here measures it */
}

void tm_dsp_emit(const char *text)
{
    size_t n = 0;
    while (text[n] != '\0') {
        ++n;
    }
    tm_uart_write((const uint8_t *)text, n);
}

int main(void)
{
    tm_uart_init();
    tm_dsp_vectors();
    return 0;
}
