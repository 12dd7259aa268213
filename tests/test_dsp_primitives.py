"""codegen/kernels/tm_dsp.h: each DSP primitive against a Python model of the Armv7E-M
instruction (Armv7-M Architecture Reference Manual pseudocode: 16-bit lanes wrap, results
saturate, the Q flag is ignored), over edge and random operands; the portable C on the host
(-Wall -Wextra -Werror, and under ASan/UBSan), the ACLE intrinsics on an emulated Cortex-M4,
and the two outputs bit for bit equal."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import jinja2
import pytest

from tinyml.harness.firmware import BAUD, CC
from tinyml.harness.qemu import qemu_base_command
from tinyml.resources import data_dir
from tinyml.targets.boards import get_board

HERE = Path(__file__).parent / "dsp"
KERNELS = data_dir("codegen") / "kernels"
PROGRAM = [HERE / "dsp_vectors.c"]
MASK = 0xFFFFFFFF
WARNINGS = ["-std=c11", "-Wall", "-Wextra", "-Werror"]


# -- the instructions, as the architecture manual defines them -----------------------------

def s16(v: int) -> int:
    v &= 0xFFFF
    return v - 0x10000 if v & 0x8000 else v


def s32(v: int) -> int:
    v &= MASK
    return v - (1 << 32) if v & 0x80000000 else v


def sat(v: int, lo: int, hi: int) -> int:
    return min(max(v, lo), hi)


def ror(x: int, r: int) -> int:
    r %= 32
    return ((x >> r) | (x << (32 - r))) & MASK


def sext8_16(b: int) -> int:
    b &= 0xFF
    return b | 0xFF00 if b & 0x80 else b


def lanes(x: int) -> tuple[int, int]:
    return s16(x), s16(x >> 16)


def sxtb16(x: int) -> int:
    return sext8_16(x) | sext8_16(x >> 16) << 16


def smlad(a, b, c):
    (a0, a1), (b0, b1) = lanes(a), lanes(b)
    return a0 * b0 + a1 * b1 + s32(c)


def smladx(a, b, c):
    (a0, a1), (b0, b1) = lanes(a), lanes(b)
    return a0 * b1 + a1 * b0 + s32(c)


def sxtab16(a, b):
    lo = (a + sext8_16(b)) & 0xFFFF
    hi = ((a >> 16) + sext8_16(b >> 16)) & 0xFFFF
    return lo | hi << 16


INT32 = (-(1 << 31), (1 << 31) - 1)

#: name -> f(a, b, c) where c is the accumulator, rotation, shift or bit count
MODEL = {
    "smlad": smlad,
    "smladx": smladx,
    "smuad": lambda a, b, c: smlad(a, b, 0),
    "smlabt": lambda a, b, c: s16(a) * s16(b >> 16) + s32(c),
    "smlatb": lambda a, b, c: s16(a >> 16) * s16(b) + s32(c),
    "smmulr": lambda a, b, c: (s32(a) * s32(b) + (1 << 31)) >> 32,
    "sxtb16": lambda a, b, c: sxtb16(a),
    "sxtb16_ror": lambda a, b, c: sxtb16(ror(a, c)),
    "sxtab16": lambda a, b, c: sxtab16(a, b),
    "sxtab16_ror8": lambda a, b, c: sxtab16(a, ror(b, 8)),
    "qadd": lambda a, b, c: sat(s32(a) + s32(b), *INT32),
    "qsub": lambda a, b, c: sat(s32(a) - s32(b), *INT32),
    "ssat": lambda a, b, c: sat(s32(a), -(1 << (c - 1)), (1 << (c - 1)) - 1),
    "usat": lambda a, b, c: sat(s32(a), 0, (1 << c) - 1),
    "pkhbt": lambda a, b, c: (a & 0xFFFF) | ((b << c) & 0xFFFF0000),
    "pkhtb": lambda a, b, c: (a & 0xFFFF0000) | ((s32(b) >> c) & 0xFFFF),
}


def parse(text: str) -> list[tuple[str, int, int, int, int]]:
    rows = []
    for line in text.splitlines():
        name, *values = line.split()
        rows.append((name, *(int(v, 16) for v in values)))
    return rows


def assert_matches_model(text: str) -> None:
    rows = parse(text)
    counts = Counter(r[0] for r in rows)
    assert set(counts) == set(MODEL), set(MODEL) ^ set(counts)
    assert min(counts.values()) >= 500, counts
    wrong = [(name, hex(a), hex(b), hex(c), hex(got), hex(MODEL[name](a, b, c) & MASK))
             for name, a, b, c, got in rows if MODEL[name](a, b, c) & MASK != got]
    assert not wrong, f"{len(wrong)} wrong, first: {wrong[:5]}"


def test_model_catches_the_edges():
    """The model itself, on values the manual spells out."""
    assert MODEL["smlad"](0x80008000, 0x80008000, 0) & MASK == 0x80000000       # 2^31 wraps
    assert MODEL["smuad"](0x7FFF8000, 0x00018000, 0) == 0x7FFF + 0x40000000
    assert MODEL["qadd"](0x7FFFFFFF, 1, 0) == INT32[1]
    assert MODEL["qsub"](0x80000000, 1, 0) == INT32[0]
    assert MODEL["sxtb16_ror"](0x80FF7F01, 0, 8) == 0xFF80007F
    assert MODEL["sxtab16"](0x0000FFFF, 0x00010001, 0) == 0x00010000
    assert MODEL["smmulr"](0x80000000, 0x80000000, 0) == 1 << 30
    assert MODEL["smmulr"](0xFFFFFFFF, 0x80000000, 0) == 1                      # 2^31 rounds up
    assert MODEL["smlatb"](0x80000000, 0x00008000, 0x7FFFFFFF) & MASK == 0xBFFFFFFF  # wraps
    assert MODEL["ssat"](200, 0, 8) == 127 and MODEL["usat"](0xFFFFFFFF, 0, 8) == 0
    assert MODEL["pkhtb"](0x12345678, 0x80000000, 16) == 0x12348000


# -- host -------------------------------------------------------------------------------------

def _host_build(tmp: Path, flags: list[str]) -> str:
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        pytest.skip(f"no host C compiler ({cc})")
    exe = tmp / "dsp_vectors"
    subprocess.run([cc, *WARNINGS, *flags, f"-I{KERNELS}", f"-I{HERE}", *map(str, PROGRAM),
                    str(HERE / "host_main.c"), "-o", str(exe)], check=True)
    done = subprocess.run([str(exe)], capture_output=True, text=True, check=True)
    assert done.stderr == ""
    return done.stdout


@pytest.fixture(scope="module")
def host_output(tmp_path_factory) -> str:
    return _host_build(tmp_path_factory.mktemp("dsp"), ["-O2"])


def test_portable_c_matches_the_instructions(host_output):
    assert_matches_model(host_output)


def test_portable_c_is_sanitizer_clean(tmp_path, host_output):
    sanitized = _host_build(tmp_path, ["-O1", "-g", "-fsanitize=address,undefined",
                                       "-fno-sanitize-recover=all"])
    assert sanitized == host_output


def test_the_host_build_takes_the_portable_path(tmp_path):
    probe = tmp_path / "probe.c"
    probe.write_text('#include "tm_dsp.h"\n_Static_assert(!TM_DSP_ACLE, "host");\n')
    subprocess.run([os.environ.get("CC", "cc"), *WARNINGS, f"-I{KERNELS}", "-c", str(probe),
                    "-o", str(tmp_path / "probe.o")], check=True)


# -- emulated Cortex-M ------------------------------------------------------------------------

def _firmware(tmp: Path, board_name: str) -> Path:
    board = get_board(board_name)
    templates = data_dir("firmware_templates")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    linker = tmp / "linker.ld"
    linker.write_text(env.get_template("linker.ld.j2").render(board=board, stack_size=16 * 1024))
    elf = tmp / "dsp.elf"
    common = templates / "common"
    subprocess.run([CC, *board.core.cflags, "-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror",
                    f"-DTM_UART_BASE=0x{board.uart.base:08X}u",
                    f"-DTM_UART_RX_IRQ={board.uart.rx_irq}u", f"-DTM_CLOCK_HZ={board.clock_hz}u",
                    f"-DTM_BAUD={BAUD}u", "-DTM_SEMIHOSTING", f"-I{KERNELS}", f"-I{HERE}",
                    f"-I{common}", *map(str, PROGRAM), str(HERE / "firmware_main.c"),
                    str(common / "startup.c"), str(common / "exit.c"),
                    str(templates / "uart" / "cmsdk_apb.c"), "-nostartfiles",
                    "--specs=nano.specs", f"-T{linker}", "-o", str(elf)], check=True)
    return elf


def _qemu_output(tmp: Path, board_name: str, elf: Path) -> str:
    uart = tmp / "uart.txt"
    cmd = qemu_base_command(get_board(board_name), elf) + ["-serial", f"file:{uart}"]
    done = subprocess.run(cmd, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-500:]
    return uart.read_text()


def _disassembly(elf: Path) -> str:
    return subprocess.run(["arm-none-eabi-objdump", "-d", str(elf)], capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.emulator
def test_acle_path_on_cortex_m4_equals_the_host(tmp_path, host_output):
    elf = _firmware(tmp_path, "mps2-an386")
    code = _disassembly(elf)
    for instruction in ("smlad", "smladx", "smuad", "smlatb", "smmulr", "sxtb16", "sxtab16",
                        "qadd", "qsub", "ssat", "usat"):
        assert f"\t{instruction}\t" in code, f"{instruction} not emitted: not the ACLE path"
    output = _qemu_output(tmp_path, "mps2-an386", elf)
    assert output == host_output
    assert_matches_model(output)


@pytest.mark.emulator
def test_portable_path_on_cortex_m3_equals_the_host(tmp_path, host_output):
    """A core without the DSP extension (SSAT/USAT only) runs the portable C."""
    elf = _firmware(tmp_path, "mps2-an385")
    assert "\tsmlad\t" not in _disassembly(elf)
    assert _qemu_output(tmp_path, "mps2-an385", elf) == host_output
