/* Eval firmware: batch mode when the host preloaded a control block (QEMU `tinyml run`),
   else it serves the framed protocol on the UART (`tinyml eval`, real boards). */
#include "tm_fw.h"
#include "tm_io.h"

int tm_run_batch(void);
void tm_serve(void) __attribute__((noreturn));

int main(void)
{
    tm_uart_init();
    tm_counter_init();
    if (tm_batch.magic == TM_BATCH_MAGIC) {
        tm_batch.magic = 0;   /* a reset after this serves instead of re-running */
        return tm_run_batch();
    }
    tm_serve();
}
