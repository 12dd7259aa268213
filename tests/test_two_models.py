"""Two generated models in one application: their folders share kernel sources (both use the
int8 FullyConnected kernel), link into one host program (through the Makefile fragments and
through CMake) and into one QEMU firmware (mps2-an386), each bit-exact with TFLite Micro."""

import shutil
import subprocess
from pathlib import Path

import jinja2
import numpy as np
import pytest

from tflite_builder import TFLiteBuilder
from tinyml.cli import main
from tinyml.references import tflm_run
from tinyml.resources import data_dir
from tinyml.targets.boards import get_board

APP = Path(__file__).parent / "two_models"


def _fc_model(rng, sizes, softmax: bool) -> bytes:
    """int8 FullyConnected layers of `sizes` (n_in, n_hidden, ..., n_out), then Softmax."""
    b = TFLiteBuilder()
    scale = 0.05
    x = first = b.tensor("x", (1, sizes[0]), "int8", scale=scale, zero_point=-3)
    for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        w_scale = rng.uniform(0.002, 0.02, n_out)
        w = b.tensor(f"w{k}", (n_out, n_in), "int8", data=rng.integers(-127, 128, (n_out, n_in)),
                     scale=w_scale, axis=0)
        bias = b.tensor(f"b{k}", (n_out,), "int32", data=rng.integers(-3000, 3000, n_out),
                        scale=scale * w_scale, axis=0)
        scale = 0.1 + 0.05 * k
        y = b.tensor(f"y{k}", (1, n_out), "int8", scale=scale, zero_point=2 * k - 1)
        b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", FusedActivationFunction=0)
        x = y
    if softmax:
        y = b.tensor("p", (1, sizes[-1]), "int8", scale=1 / 256, zero_point=-128)
        b.op("SOFTMAX", [x], [y], "SoftmaxOptions", Beta=1.0)
        x = y
    return b.build([first], [x])


def _pattern(n: int, seed: int) -> np.ndarray:
    """What app.c's fill() writes: the low byte of 37 i + 11 seed."""
    return ((37 * np.arange(n) + 11 * seed) & 0xFF).astype(np.uint8).view(np.int8)


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    """(folder of alpha, folder of beta, the lines TFLite Micro says app.c must print)."""
    root = tmp_path_factory.mktemp("two")
    rng = np.random.default_rng(62)
    models = {"alpha": (_fc_model(rng, (8, 12, 4), softmax=False), 8, 1),
              "beta": (_fc_model(rng, (16, 6), softmax=True), 16, 2)}
    expected, folders = [], []
    for name, (blob, n_in, seed) in models.items():
        path = root / f"{name}.tflite"
        path.write_bytes(blob)
        out = root / f"{name}_tinyml"
        assert main(["compile", str(path), "--target", "cortex-m4", "-o", str(out)]) == 0
        folders.append(out)
        want = tflm_run(blob, [_pattern(n_in, seed).reshape(1, 1, n_in)])[0].reshape(-1)
        expected.append(f"{name} 0: " + " ".join(str(int(v)) for v in want))
    shared = {p.name for p in folders[0].glob("tm_*.c")} & {p.name for p in folders[1].glob("tm_*.c")}
    assert "tm_fully_connected_dsp_s8.c" in shared   # the case that used to collide
    return folders[0], folders[1], expected


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_make_links_two_models_into_one_host_program(two, tmp_path):
    alpha, beta, expected = two
    exe = tmp_path / "app"
    done = subprocess.run(["make", "-s", "-f", str(APP / "Makefile"), f"ALPHA={alpha}",
                           f"BETA={beta}", f"OUT={exe}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0 and _lines(run.stdout) == expected


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed")
def test_cmake_links_two_models_into_one_host_program(two, tmp_path):
    alpha, beta, expected = two
    build = tmp_path / "build"
    for cmd in (["cmake", "-S", str(APP), "-B", str(build), f"-DALPHA={alpha}", f"-DBETA={beta}"],
                ["cmake", "--build", str(build)]):
        done = subprocess.run(cmd, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    # One kernel library: the shared kernel is compiled once.
    objects = subprocess.run(["ar", "t", str(build / "alpha" / "libtinyml_kernels.a")],
                             capture_output=True, text=True).stdout.split()
    assert objects.count("tm_fully_connected_dsp_s8.c.o") == 1
    run = subprocess.run([str(build / "app")], capture_output=True, text=True)
    assert run.returncode == 0 and _lines(run.stdout) == expected


@pytest.mark.emulator
def test_two_models_in_one_qemu_firmware(two, tmp_path):
    """The same app.c as bare-metal firmware for mps2-an386, built with the fragments."""
    alpha, beta, expected = two
    board = get_board("mps2-an386")
    templates = data_dir("firmware_templates")
    linker = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)),
                                undefined=jinja2.StrictUndefined).get_template("linker.ld.j2")
    (tmp_path / "linker.ld").write_text(linker.render(board=board, stack_size=16 * 1024,
                                                      ram_size=board.ram.size))
    elf = tmp_path / "app.elf"
    runtime = [templates / "common" / s for s in ("startup.c", "exit.c", "stack.c")]
    cflags = " ".join([*board.core.cflags, "-O2", "-std=gnu11", "-ffunction-sections",
                       "-fdata-sections", "-DTM_FIRMWARE", "-DTM_SEMIHOSTING",
                       f"-DTM_UART_BASE=0x{board.uart.base:08X}u",
                       f"-DTM_UART_RX_IRQ={board.uart.rx_irq}u", f"-DTM_CLOCK_HZ={board.clock_hz}u",
                       "-DTM_BAUD=115200u", f"-I{templates / 'common'}"])
    done = subprocess.run(
        ["make", "-s", "-f", str(APP / "Makefile"), f"ALPHA={alpha}", f"BETA={beta}", f"OUT={elf}",
         "CC=arm-none-eabi-gcc", f"CFLAGS={cflags}",
         "EXTRA_SRCS=" + " ".join(map(str, [*runtime, templates / "uart" / "cmsdk_apb.c"])),
         f"LDFLAGS=-nostartfiles --specs=nano.specs -T{tmp_path / 'linker.ld'} -Wl,--gc-sections"],
        capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    uart = tmp_path / "uart.txt"
    run = subprocess.run(["qemu-system-arm", "-machine", board.qemu_machine, "-display", "none",
                          "-monitor", "none", "-semihosting-config", "enable=on,target=native",
                          "-serial", f"file:{uart}", "-kernel", str(elf)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert _lines(uart.read_text()) == expected
