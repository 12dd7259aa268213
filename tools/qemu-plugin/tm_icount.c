/* tinyml's QEMU TCG plugin: exact guest instruction counts at profiling marks, by class.
 *
 * The firmware calls entry k of a sled of `bx lr` (tm_marks) to say "mark k". This plugin
 * counts every executed instruction (one inline add per instruction: exact even when a
 * translation block is left early) and, when an instruction of the sled executes, writes
 * "M <k> <count> <class counters...>" to the output file, flushed at once so a host waiting
 * on the UART can read it. At exit it writes "T <count>". The first line, "C <names...>",
 * names the class counters in the order the M lines carry them.
 *
 * Classes: each instruction's Thumb/Thumb-2 opcode is decoded once, when QEMU translates it
 * (tm_classify.h), and its class counter gets an inline add beside the total, so the
 * classes partition the total at every mark. Extra counters (registers moved by LDM/STM,
 * loads that write the PC, taken branches) add detail the cycle estimate needs. A branch is
 * taken when the next executed instruction is not its fall-through: the branch records its
 * fall-through address and the next translation block to start compares its own address.
 *
 * Arguments: marks=<address of tm_marks>,n=<entries>,out=<file>.
 * Built against qemu-plugin.h fetched by fetch-header.sh (not part of this repository).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

#include "tm_classify.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

/* Single vCPU: Cortex-M machines have one, so plain globals are race-free. */
static uint64_t executed;
static uint64_t counters[TM_N_COUNTERS];
static uint64_t pending_fallthrough;   /* 0: no branch waiting for its next instruction */
static uint64_t marks_base, marks_count;
static FILE *out;

static void on_mark(unsigned int vcpu, void *userdata)
{
    (void)vcpu;
    fprintf(out, "M %" PRIu64 " %" PRIu64, (uint64_t)(uintptr_t)userdata, executed);
    for (int c = 0; c < TM_N_COUNTERS; ++c) {
        fprintf(out, " %" PRIu64, counters[c]);
    }
    fputc('\n', out);
    fflush(out);
}

static void on_branch(unsigned int vcpu, void *userdata)
{
    (void)vcpu;
    pending_fallthrough = (uint64_t)(uintptr_t)userdata;
}

/* Runs before the block's first instruction: resolves the branch that led here, if any. */
static void on_block_start(unsigned int vcpu, void *userdata)
{
    (void)vcpu;
    if (pending_fallthrough) {
        counters[TM_X_BRANCH_TAKEN] += (uint64_t)(uintptr_t)userdata != pending_fallthrough;
        pending_fallthrough = 0;
    }
}

static void count_inline(struct qemu_plugin_insn *insn, int counter, uint64_t amount)
{
    qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                                               &counters[counter], amount);
}

static struct tm_insn decode_insn(const struct qemu_plugin_insn *insn)
{
    const uint8_t *bytes = qemu_plugin_insn_data(insn);
    size_t size = qemu_plugin_insn_size(insn);
    uint16_t hw1 = (uint16_t)(bytes[0] | bytes[1] << 8);
    uint16_t hw2 = size >= 4 ? (uint16_t)(bytes[2] | bytes[3] << 8) : 0;
    return tm_decode(hw1, hw2);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block_start, QEMU_PLUGIN_CB_NO_REGS,
                                         (void *)(uintptr_t)qemu_plugin_tb_vaddr(tb));
    struct tm_insn prev, cur = tm_class(TM_ALU), next = cur;   /* no load before the block */
    if (n) {
        next = decode_insn(qemu_plugin_tb_get_insn(tb, 0));
    }
    for (size_t i = 0; i < n; ++i) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        prev = cur;
        cur = next;
        next = i + 1 < n ? decode_insn(qemu_plugin_tb_get_insn(tb, i + 1)) : tm_class(TM_ALU);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
        count_inline(insn, tm_pipelined_class(&prev, &cur, i + 1 < n ? &next : NULL), 1);
        if (cur.regs) {
            count_inline(insn, cur.regs_counter, cur.regs);
        }
        if (cur.pc_load) {
            count_inline(insn, TM_X_PC_LOAD, 1);
        }
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        if (cur.cls == TM_BRANCH) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_branch, QEMU_PLUGIN_CB_NO_REGS,
                                                   (void *)(uintptr_t)(pc + qemu_plugin_insn_size(insn)));
        }
        if (pc >= marks_base && pc < marks_base + 2 * marks_count) {
            uintptr_t mark = (uintptr_t)((pc - marks_base) / 2);
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS,
                                                   (void *)mark);
        }
    }
}

static void on_qemu_exit(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    fprintf(out, "T %" PRIu64 "\n", executed);
    fclose(out);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    (void)info;
    const char *path = NULL;
    for (int i = 0; i < argc; ++i) {
        const char *eq = strchr(argv[i], '=');
        if (!eq) {
            continue;
        }
        size_t klen = (size_t)(eq - argv[i]);
        if (klen == 5 && !strncmp(argv[i], "marks", 5)) {
            marks_base = strtoull(eq + 1, NULL, 0) & ~(uint64_t)1;  /* drop the Thumb bit */
        } else if (klen == 1 && argv[i][0] == 'n') {
            marks_count = strtoull(eq + 1, NULL, 0);
        } else if (klen == 3 && !strncmp(argv[i], "out", 3)) {
            path = eq + 1;
        }
    }
    out = path ? fopen(path, "w") : stdout;
    if (!out) {
        fprintf(stderr, "tm_icount: cannot open %s\n", path);
        return -1;
    }
    fputc('C', out);
    for (int c = 0; c < TM_N_COUNTERS; ++c) {
        fprintf(out, " %s", tm_counter_names[c]);
    }
    fputc('\n', out);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
    return 0;
}
