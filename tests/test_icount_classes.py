"""The QEMU plugin's instruction classifier (tools/qemu-plugin/tm_classify.h) on known opcodes.

Host-side: each instruction is assembled by arm-none-eabi-as, its bytes read back from
objdump, and decoded by a small host build of the same header.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tinyml.harness.icount import CLASSES, COUNTERS

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "tools" / "qemu-plugin"
DRIVER = Path(__file__).parent / "icount_fixtures" / "classify_main.c"
TOOLS = ("arm-none-eabi-as", "arm-none-eabi-objdump", "gcc")

pytestmark = pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS),
                                reason=f"needs {', '.join(TOOLS)}")

# (instruction, class, registers moved, writes the PC)
KNOWN = [
    ("adds r0, r1, r2", "alu", 0, 0), ("mov r8, r9", "alu", 0, 0), ("add.w r0, r1, r2, lsl #2", "alu", 0, 0),
    ("movw r0, #1234", "alu", 0, 0), ("movt r0, #1", "alu", 0, 0), ("cmp r0, #5", "alu", 0, 0),
    ("lsl.w r0, r1, r2", "alu", 0, 0), ("sxtb r0, r1", "alu", 0, 0), ("uxth.w r0, r8", "alu", 0, 0),
    ("sxtab r0, r1, r2", "alu", 0, 0), ("ubfx r0, r1, #2, #3", "alu", 0, 0), ("bfi r0, r1, #4, #4", "alu", 0, 0),
    ("rev r0, r1", "alu", 0, 0), ("clz r0, r1", "alu", 0, 0), ("add sp, #8", "alu", 0, 0),
    ("sub sp, #16", "alu", 0, 0), ("bic r0, r1, #0xff", "alu", 0, 0), ("mvn r0, r1", "alu", 0, 0),
    ("it eq", "it", 0, 0), ("moveq r0, r1", "alu", 0, 0),
    ("ite ne", "it", 0, 0), ("ldrne r0, [r1]", "load", 0, 0), ("addeq r0, r1", "alu", 0, 0),
    ("ldr r0, [r1]", "load", 0, 0), ("ldr r0, [r1, r2]", "load", 0, 0), ("ldrb.w r0, [r1, #1000]", "load", 0, 0),
    ("ldrsh r0, [r1, r2]", "load", 0, 0), ("ldr r0, [sp, #4]", "load", 0, 0), ("ldr.w r0, [r1, #-4]", "load", 0, 0),
    ("ldr r0, [r1], #4", "load", 0, 0), ("ldrex r0, [r1]", "load", 0, 0), ("ldr r0, =0x12345678", "load", 0, 0),
    ("ldrsb.w r0, [r1, r2, lsl #1]", "load", 0, 0), ("ldr pc, [r0]", "load", 0, 1),
    ("str r0, [r1]", "store", 0, 0), ("strh r0, [r1, r2]", "store", 0, 0), ("str.w r0, [r1, #100]", "store", 0, 0),
    ("strb r0, [r1], #1", "store", 0, 0), ("strex r0, r1, [r2]", "store", 0, 0), ("str r0, [sp, #8]", "store", 0, 0),
    ("ldmia r0!, {r1, r2, r3}", "ldm", 3, 0), ("pop {r4, r5, pc}", "ldm", 3, 1), ("ldmia.w r0, {r1-r8}", "ldm", 8, 0),
    ("pop.w {r4-r11, pc}", "ldm", 9, 1), ("pop {r4}", "ldm", 1, 0),
    ("push {r4, lr}", "stm", 2, 0), ("stmia r0!, {r1, r2}", "stm", 2, 0), ("push.w {r4-r11, lr}", "stm", 9, 0),
    ("stmdb r0!, {r1-r3}", "stm", 3, 0),
    ("ldrd r0, r1, [r2]", "ldrd", 0, 0), ("ldrd r0, r1, [r2, #8]!", "ldrd", 0, 0),
    ("strd r0, r1, [r2, #-8]", "strd", 0, 0),
    ("muls r0, r1, r0", "mul", 0, 0), ("mul r0, r1, r2", "mul", 0, 0), ("mla r0, r1, r2, r3", "mul", 0, 0),
    ("mls r0, r1, r2, r3", "mul", 0, 0),
    ("smull r0, r1, r2, r3", "mul_long", 0, 0), ("umull r0, r1, r2, r3", "mul_long", 0, 0),
    ("smlal r0, r1, r2, r3", "mul_long", 0, 0), ("umlal r0, r1, r2, r3", "mul_long", 0, 0),
    ("smlald r0, r1, r2, r3", "mul_long", 0, 0),
    ("smlad r0, r1, r2, r3", "dsp", 0, 0), ("smladx r0, r1, r2, r3", "dsp", 0, 0), ("smuad r0, r1, r2", "dsp", 0, 0),
    ("sxtb16 r0, r1", "dsp", 0, 0), ("sxtb16 r0, r1, ror #8", "dsp", 0, 0), ("sxtab16 r0, r1, r2", "dsp", 0, 0),
    ("uxtb16 r0, r1", "dsp", 0, 0), ("qadd r0, r1, r2", "dsp", 0, 0), ("qsub r0, r1, r2", "dsp", 0, 0),
    ("ssat r0, #8, r1", "dsp", 0, 0), ("usat r0, #8, r1", "dsp", 0, 0), ("ssat16 r0, #8, r1", "dsp", 0, 0),
    ("sadd16 r0, r1, r2", "dsp", 0, 0), ("uqadd8 r0, r1, r2", "dsp", 0, 0), ("pkhbt r0, r1, r2, lsl #16", "dsp", 0, 0),
    ("pkhtb r0, r1, r2, asr #16", "dsp", 0, 0), ("smlabb r0, r1, r2, r3", "dsp", 0, 0),
    ("smulbb r0, r1, r2", "dsp", 0, 0),
    ("smmul r0, r1, r2", "dsp", 0, 0), ("smlawb r0, r1, r2, r3", "dsp", 0, 0), ("sel r0, r1, r2", "dsp", 0, 0),
    ("usada8 r0, r1, r2, r3", "dsp", 0, 0), ("smlsd r0, r1, r2, r3", "dsp", 0, 0),
    ("sdiv r0, r1, r2", "div", 0, 0), ("udiv r0, r1, r2", "div", 0, 0),
    ("b 1f", "branch", 0, 0), ("beq 1f", "branch", 0, 0), ("bne.w 1f", "branch", 0, 0), ("b.w 1f", "branch", 0, 0),
    ("bl 1f", "branch", 0, 0), ("bx lr", "branch", 0, 0), ("blx r3", "branch", 0, 0), ("cbz r0, 1f", "branch", 0, 0),
    ("cbnz r0, 1f", "branch", 0, 0), ("tbb [r0, r1]", "branch", 0, 0), ("tbh [r0, r1, lsl #1]", "branch", 0, 0),
    ("mov pc, lr", "branch", 0, 0), ("add pc, r0", "branch", 0, 0), ("bgt.w 1b", "branch", 0, 0),
    ("vmla.f32 s0, s1, s2", "vfp_mac", 0, 0), ("vmls.f32 s0, s1, s2", "vfp_mac", 0, 0),
    ("vfma.f32 s0, s1, s2", "vfp_mac", 0, 0), ("vfms.f32 s0, s1, s2", "vfp_mac", 0, 0),
    ("vnmla.f32 s0, s1, s2", "vfp_mac", 0, 0), ("vfnma.f32 s3, s17, s30", "vfp_mac", 0, 0),
    ("vldr s0, [r0, #4]", "vfp_ldst", 0, 0), ("vstr s0, [r0]", "vfp_ldst", 0, 0), ("vldr d0, [r0]", "vfp_ldst", 0, 0),
    ("vldmia r0!, {s0-s3}", "vfp_ldm", 4, 0), ("vpush {s16-s31}", "vfp_ldm", 16, 0),
    ("vpop {d8-d15}", "vfp_ldm", 16, 0), ("vstmia r0, {s0-s1}", "vfp_ldm", 2, 0),
    ("vdiv.f32 s0, s1, s2", "vfp_div", 0, 0), ("vsqrt.f32 s0, s1", "vfp_sqrt", 0, 0),
    ("vadd.f32 s0, s1, s2", "vfp_other", 0, 0), ("vmul.f32 s0, s1, s2", "vfp_other", 0, 0),
    ("vsub.f32 s0, s1, s2", "vfp_other", 0, 0), ("vnmul.f32 s0, s1, s2", "vfp_other", 0, 0),
    ("vabs.f32 s0, s1", "vfp_other", 0, 0), ("vneg.f32 s0, s1", "vfp_other", 0, 0),
    ("vcmp.f32 s0, s1", "vfp_other", 0, 0), ("vcmpe.f32 s0, #0", "vfp_other", 0, 0),
    ("vcvt.s32.f32 s0, s0", "vfp_other", 0, 0), ("vmov s0, r0", "vfp_other", 0, 0), ("vmov r0, s0", "vfp_other", 0, 0),
    ("vmov.f32 s0, #1.0", "vfp_other", 0, 0), ("vmrs APSR_nzcv, fpscr", "vfp_other", 0, 0),
    ("vmov r0, r1, d0", "vfp_other", 0, 0),
    ("nop", "other", 0, 0), ("wfi", "other", 0, 0), ("dsb", "other", 0, 0), ("dmb", "other", 0, 0),
    ("isb", "other", 0, 0), ("svc #0", "other", 0, 0), ("bkpt #0", "other", 0, 0), ("mrs r0, primask", "other", 0, 0),
    ("msr primask, r0", "other", 0, 0), ("cpsid i", "other", 0, 0), ("udf #0", "other", 0, 0),
]


@pytest.fixture(scope="module")
def classify(tmp_path_factory):
    """A function: assembly lines (one block) -> (class, pipelined class, regs, pc_load) per instruction."""
    work = tmp_path_factory.mktemp("classify")
    exe = work / "classify"
    subprocess.run(["gcc", "-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined",
                    f"-I{PLUGIN}", str(DRIVER), "-o", str(exe)], check=True)

    def run(lines: list[str]) -> list[tuple[str, str, int, int]]:
        src = work / "snippet.s"
        # A forward branch's target one instruction past it (a branch to the next instruction
        # would be relaxed away), a backward branch's at itself.
        body, after = "", {}
        for i, ln in enumerate(lines):
            label = f"t{i}"
            body += f"{label}:\n" if "1b" in ln else ""
            body += f"    {ln.replace('1f', label).replace('1b', label)}\n"
            body += after.pop(i - 1, "")
            if "1f" in ln:
                after[i] = f"{label}:\n"
        body += "".join(after.values())
        src.write_text(".syntax unified\n.cpu cortex-m4\n.fpu fpv4-sp-d16\n.thumb\n.text\n"
                       f"{body}.ltorg\n")
        obj = work / "snippet.o"
        subprocess.run(["arm-none-eabi-as", "-o", str(obj), str(src)], check=True)
        dump = subprocess.run(["arm-none-eabi-objdump", "-d", str(obj)], check=True,
                              capture_output=True, text=True).stdout
        # "   4:\tfb22 0303 \tsmlad\t..." ; the literal pool after .ltorg is not code
        words = [m.group(1) for m in re.finditer(r"^\s*[0-9a-f]+:\t([0-9a-f]{4}(?: [0-9a-f]{4})?)\s*\t(?!\.word)",
                                                  dump, re.MULTILINE)][:len(lines)]
        assert len(words) == len(lines), dump
        out = subprocess.run([str(exe)], input="\n".join(words) + "\n", check=True,
                             capture_output=True, text=True).stdout.split("\n")
        return [(c, p, int(r), int(pc)) for c, p, r, pc in (ln.split() for ln in out if ln)]

    return run


def test_class_names_match_the_python_side():
    header = (PLUGIN / "tm_classify.h").read_text()
    names = re.search(r"tm_counter_names\[TM_N_COUNTERS\] = \{(.*?)\};", header, re.DOTALL).group(1)
    assert tuple(re.findall(r'"(\w+)"', names)) == COUNTERS
    assert set(CLASSES) < set(COUNTERS)


def test_known_instructions(classify):
    got = classify([asm for asm, *_ in KNOWN])
    wrong = [(asm, want, g) for (asm, *want), g in zip(KNOWN, got) if (g[0], g[2], g[3]) != tuple(want)]
    assert not wrong, "\n".join(f"{asm}: want {want}, got {g}" for asm, want, g in wrong)
    assert {cls for _, cls, *_ in KNOWN} == set(CLASSES) - {"load_pipelined", "store_pipelined"}


@pytest.mark.parametrize("block, want", [
    # Cortex-M4 TRM 3.3.2's examples: LDR R0,[R1]; LDR R1,[R2] is three cycles, so the second pipelines
    (["ldr r0, [r1]", "ldr r1, [r2]"], ["load", "load_pipelined"]),
    (["ldr r0, [r1, r5]", "ldr r1, [r2]", "ldr r2, [r3, #4]"], ["load", "load_pipelined", "load_pipelined"]),
    (["ldr r0, [r1, r2]", "str r0, [r3, #20]"], ["load", "store_pipelined"]),
    (["ldr r0, [r1]", "ldr r2, [r0]"], ["load", "load"]),             # addresses with the loaded value
    (["ldr r0, [r1]", "ldr r2, [r3, r0]"], ["load", "load"]),
    (["str r0, [r1]", "ldr r2, [r3]"], ["store", "load"]),           # nothing pipelines after a store
    (["str r0, [r1]", "adds r0, #1"], ["store_pipelined", "alu"]),   # the write buffer overlaps it
    (["str r0, [r1, r2]", "adds r0, #1"], ["store", "alu"]),         # not with a register offset
    (["adds r0, #1", "str r0, [r1]"], ["alu", "store"]),             # last of its block: no overlap known
    (["ldrd r0, r1, [r2]", "ldr r3, [r4]"], ["ldrd", "load"]),       # LDRD never pipelines
])
def test_load_store_pipelining(classify, block, want):
    assert [p for _, p, *_ in classify(block)] == want
