/* Host driver for tools/qemu-plugin/tm_classify.h: reads one instruction a line ("hhhh" or
 * "hhhh hhhh", halfwords in hex as objdump prints them), treats the lines as one translation
 * block, and prints "<class> <pipelined class> <regs> <pc_load>" a line. */
#include <stdio.h>
#include <stdlib.h>

#include "tm_classify.h"

#define MAX_INSNS 4096

int main(void)
{
    static struct tm_insn insns[MAX_INSNS];
    char line[128];
    size_t n = 0;
    while (n < MAX_INSNS && fgets(line, sizeof line, stdin)) {
        unsigned hw1 = 0, hw2 = 0;
        if (sscanf(line, "%x %x", &hw1, &hw2) < 1) {
            continue;
        }
        insns[n++] = tm_decode(hw1, hw2);
    }
    const struct tm_insn start = tm_class(TM_ALU);
    for (size_t i = 0; i < n; ++i) {
        const struct tm_insn *prev = i ? &insns[i - 1] : &start;
        const struct tm_insn *next = i + 1 < n ? &insns[i + 1] : NULL;
        printf("%s %s %u %u\n", tm_counter_names[insns[i].cls],
               tm_counter_names[tm_pipelined_class(prev, &insns[i], next)],
               (unsigned)insns[i].regs, (unsigned)insns[i].pc_load);
    }
    return 0;
}
