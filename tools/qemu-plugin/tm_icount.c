/* tinyml's QEMU TCG plugin: exact guest instruction counts at profiling marks.
 *
 * The firmware calls entry k of a sled of `bx lr` (tm_marks) to say "mark k". This plugin
 * counts every executed instruction (one inline add per instruction: exact even when a
 * translation block is left early) and, when an instruction of the sled executes, writes
 * "M <k> <count>" to the output file, flushed at once so a host waiting on the UART can
 * read it. At exit it writes "T <count>".
 *
 * Arguments: marks=<address of tm_marks>,n=<entries>,out=<file>.
 * Built against qemu-plugin.h fetched by fetch-header.sh (not part of this repository).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static uint64_t executed;           /* single vCPU: Cortex-M machines have one */
static uint64_t marks_base, marks_count;
static FILE *out;

static void on_mark(unsigned int vcpu, void *userdata)
{
    (void)vcpu;
    fprintf(out, "M %" PRIu64 " %" PRIu64 "\n", (uint64_t)(uintptr_t)userdata, executed);
    fflush(out);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; ++i) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
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
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
    return 0;
}
