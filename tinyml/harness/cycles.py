"""Cortex-M4 cycles estimated from the QEMU plugin's instruction classes: an estimate, never a
measurement (QEMU does not model time; docs/cycle-estimate.md says what is left out).

Each counter of the plugin (tinyml.harness.icount.COUNTERS; TIMINGS lists the same names in
the same order) costs a fixed number of cycles per count, taken from the Cortex-M4 Technical
Reference Manual (ARM DDI 0439, r0p1), section 3.3 "Instruction set summary": Table 3-1
(3.3.1) and the load/store notes (3.3.2), and the floating-point instruction table of chapter
7 "Floating Point Unit". Where the manual gives a range, TIMINGS states the value taken.
Cycles are for zero wait-state memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tinyml.targets.boards import get_board

PIPELINE_REFILL = 2      # P of Table 3-1: "ranges from 1 to 3"; the middle is taken
DIVIDE = 7               # SDIV/UDIV: "2 to 12", early termination on the operands; the middle


@dataclass(frozen=True)
class Timing:
    counter: str     # a name of icount.COUNTERS
    cycles: int      # per count of that counter
    source: str      # where in the manual, and the assumption taken


TIMINGS = (
    Timing("alu", 1, "3.3.1 Table 3-1: move, add, subtract, logical, shift, compare, extend, bitfield, "
                     "reverse: 1"),
    Timing("it", 1, "3.3.1 Table 3-1: IT 1 (folding onto a preceding 16-bit instruction, 0, is not credited)"),
    Timing("load", 2, "3.3.1 Table 3-1: LDR, LDRH, LDRB, LDRSH, LDRSB, LDREX: 2"),
    Timing("load_pipelined", 1, "3.3.2: a load right after a load that does not address with its result "
                                "pipelines: one cycle less"),
    Timing("store", 2, "3.3.1 Table 3-1: STR, STRH, STRB, STREX: 2"),
    Timing("store_pipelined", 1, "3.3.2: a store right after such a load pipelines; a store with an "
                                 "immediate offset overlaps a following non-memory instruction: 1"),
    Timing("ldm", 1, "3.3.1 Table 3-1: LDM, POP 1+N (N: ldm_regs)"),
    Timing("stm", 1, "3.3.1 Table 3-1: STM, PUSH 1+N (N: stm_regs)"),
    Timing("ldrd", 3, "3.3.1 Table 3-1: LDRD 1+N, N = 2"),
    Timing("strd", 3, "3.3.1 Table 3-1: STRD 1+N, N = 2"),
    Timing("mul", 1, "3.3.1 Table 3-1: MUL, MLA, MLS: 1"),
    Timing("mul_long", 1, "3.3.1 Table 3-1: SMULL, UMULL, SMLAL, UMLAL (and SMLALD, UMAAL): 1"),
    Timing("dsp", 1, "3.3.1 Table 3-1: SMLAD, SMUAD, SMLAxy, SMMUL, SXTB16, SXTAB16, QADD, SSAT, USAT, "
                     "parallel add/subtract, PKHBT, SEL: 1"),
    Timing("div", DIVIDE, "3.3.1 Table 3-1: SDIV, UDIV 2 to 12; 7 taken"),
    Timing("branch", 1, "3.3.1 Table 3-1: B<cond>, CBZ not taken 1; taken adds P (branch_taken)"),
    Timing("vfp_mac", 3, "ch. 7 FPU instruction table: VMLA, VMLS, VNMLA, VNMLS, VFMA, VFMS, VFNMA, VFNMS: 3"),
    Timing("vfp_ldst", 2, "ch. 7 FPU instruction table: VLDR, VSTR: 2"),
    Timing("vfp_ldm", 1, "ch. 7 FPU instruction table: VLDM, VSTM, VPUSH, VPOP 1+N (N: vfp_ldm_words)"),
    Timing("vfp_div", 14, "ch. 7 FPU instruction table: VDIV 14"),
    Timing("vfp_sqrt", 14, "ch. 7 FPU instruction table: VSQRT 14"),
    Timing("vfp_other", 1, "ch. 7 FPU instruction table: VADD, VSUB, VMUL, VNMUL, VABS, VNEG, VCMP, VCVT, "
                           "VMOV, VMRS: 1"),
    Timing("other", 1, "3.3.1 Table 3-1: NOP, hints, MSR, MRS, SVC, BKPT 1; barriers 1+B with B = 0"),
    Timing("ldm_regs", 1, "3.3.1 Table 3-1: the N of LDM/POP 1+N"),
    Timing("stm_regs", 1, "3.3.1 Table 3-1: the N of STM/PUSH 1+N"),
    Timing("vfp_ldm_words", 1, "ch. 7 FPU instruction table: the N of VLDM/VSTM 1+N, one per word"),
    Timing("pc_load", PIPELINE_REFILL, "3.3.1 Table 3-1: LDR PC 2+P, POP/LDM with PC 1+N+P; P = 2 taken"),
    Timing("branch_taken", PIPELINE_REFILL, "3.3.1 Table 3-1: B, BL, BX, BLX, taken B<cond>, CBZ, TBB "
                                            "1+P (TBB/TBH 2+P: one cycle short); P = 2 taken"),
)
CYCLES = {t.counter: t.cycles for t in TIMINGS}

ESTIMATE_LABEL = "estimated Cortex-M4 cycles (instruction classes x TRM timings; an estimate, not a measurement)"

# An emulated board runs at its FPGA's clock; an estimate in ms is stated at the clock of the
# real board the emulated core stands for.
REFERENCE_BOARD = {"mps2-an386": "nucleo-l4r5zi"}


def cycles_by_counter(counters: Mapping[str, int]) -> dict[str, int]:
    """Estimated cycles each counter contributes (zero counters left out)."""
    return {name: counters[name] * cycles for name, cycles in CYCLES.items() if counters.get(name)}


def estimate_cycles(counters: Mapping[str, int]) -> int:
    """Estimated Cortex-M4 cycles of a stretch of execution from its class counters."""
    missing = [name for name in CYCLES if name not in counters]
    if missing:
        raise KeyError(f"class counters missing: {', '.join(missing)}")
    return sum(cycles_by_counter(counters).values())


@dataclass(frozen=True)
class EstimateClock:
    hz: int
    basis: str   # why this clock, said beside every estimated ms


def estimate_clock(board_name: str) -> EstimateClock:
    """The clock an estimate in ms is stated at: the board's rated clock where it has one; for
    an emulated board, the clock of the real board its core stands for, else its own clock."""
    board = get_board(board_name)
    if board.name in REFERENCE_BOARD:
        ref = get_board(REFERENCE_BOARD[board.name])
        hz = ref.max_clock_hz or ref.clock_hz
        return EstimateClock(hz, f"{board.name} is emulated: at the {ref.name.upper()}'s {_mhz(hz)}, "
                                 "the MLPerf Tiny reference board")
    if board.max_clock_hz:
        return EstimateClock(board.max_clock_hz, f"{board.name}'s rated clock")
    return EstimateClock(board.clock_hz, f"{board.name}'s clock")


def _mhz(hz: int) -> str:
    return f"{hz / 1e6:g} MHz"


def estimated_ms(cycles: int, clock: EstimateClock) -> float:
    return 1000.0 * cycles / clock.hz


def timing_caveat(board_name: str) -> str | None:
    """What to say when the board's core is not the Cortex-M4 the table describes."""
    core = get_board(board_name).core_name
    return None if core == "cortex-m4" else f"Cortex-M4 timings applied to a {core}'s instructions: its own differ"
