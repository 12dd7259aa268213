"""The microbit (Cortex-M0, ARMv6-M, nRF51 UART) and mps3-an547 (Cortex-M55, SSE-300) boards:
their memory maps and cores, firmware built for exactly their architecture, a generated
model and the shared int8 models run in QEMU against the host build and TFLite Micro, the
serial protocol over their UARTs, and the budget check naming the models microbit cannot hold."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conv_cases import output_scale
from helpers import tflm_run
from tflite_builder import TFLiteBuilder
from tinyml.cli import main as cli
from tinyml.harness.firmware import build_firmware
from tinyml.harness.host import run_host
from tinyml.harness.qemu import QemuSession, run_firmware, run_on_board
from tinyml.targets import get_board, get_core

sys.path.insert(0, str(Path(__file__).parent / "harness"))
from tiny_model import N_IN, reference, write_tiny_model  # noqa: E402

BOARDS = ["microbit", "mps3-an547"]
INT8_MODELS = {"hello_world_int8": "tflm/hello_world_int8.tflite",
               "ad01_int8": "mlperf_tiny/ad/ad01_int8.tflite",
               "kws_ref_model": "mlperf_tiny/kws/kws_ref_model.tflite",
               "vww_96_int8": "mlperf_tiny/vww/vww_96_int8.tflite",
               "pretrainedResnet_quant": "mlperf_tiny/ic/pretrainedResnet_quant.tflite"}
# Why each shared int8 model does or does not fit microbit (256 KB flash, 16 KB RAM), as
# `tinyml compile --board microbit` reports it.
# KWS fits the microbit's 16 KB since its pointwise and depthwise layers run in place (arena
# 9,568 bytes, tinyml/plan/); VWW and ResNet-8 stay above 16 KB even patch by patch
MICROBIT_FITS = {"hello_world_int8", "kws_ref_model"}
MICROBIT_OVERFLOWS = {"ad01_int8": "flash", "vww_96_int8": "RAM", "pretrainedResnet_quant": "RAM"}

_MISSING = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm", "gcc") if shutil.which(t) is None]
needs_arm_gcc = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                                   reason="needs arm-none-eabi-gcc (set-up installs it)")
needs_qemu = pytest.mark.skipif(bool(_MISSING), reason=f"needs {', '.join(_MISSING)} (set-up installs them)")


def test_microbit_is_an_nrf51_with_a_cortex_m0():
    board = get_board("microbit")
    assert board.qemu_machine == "microbit" and board.core_name == "cortex-m0"
    assert (board.flash.origin, board.flash.size) == (0x00000000, 256 * 1024)
    assert (board.ram.origin, board.ram.size) == (0x20000000, 16 * 1024)
    assert (board.uart.kind, board.uart.base, board.uart.rx_irq) == ("nrf51-uart", 0x40002000, 2)
    assert board.clock_hz == 16_000_000
    core = get_core("cortex-m0")
    assert core.arch == "armv6-m" and core.qemu_cpu == "cortex-m0" and core.features == frozenset()
    assert "-mcpu=cortex-m0" in core.cflags and "-mfloat-abi=soft" in core.cflags


def test_an547_runs_secure_from_itcm_with_uart0():
    board = get_board("mps3-an547")
    assert board.qemu_machine == "mps3-an547" and board.core.qemu_cpu == "cortex-m55"
    # Secure aliases: ITCM (0x0, where SVTOR points at reset) at 0x10000000, ISRAM at 0x31000000.
    assert (board.flash.origin, board.flash.size) == (0x10000000, 512 * 1024)
    assert (board.ram.origin, board.ram.size) == (0x31000000, 4 * 1024 * 1024)
    assert (board.uart.kind, board.uart.base, board.uart.rx_irq) == ("cmsdk-apb", 0x59303000, 33)
    assert board.core.features == {"dsp", "fpu", "mve"}


def _cpu_attributes(elf) -> dict[str, str]:
    """The build attributes the linker merged from every object: the newest architecture any
    object needs wins, so one Armv7-M object would show here."""
    out = subprocess.run(["arm-none-eabi-readelf", "-A", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    return dict(line.strip().split(": ", 1) for line in out.splitlines() if ": " in line)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("tiny"))


@needs_arm_gcc
def test_firmware_is_built_for_each_boards_architecture(tiny_dir):
    m0 = build_firmware(tiny_dir, "microbit")   # -Wall -Wextra -Werror
    attrs = _cpu_attributes(m0.elf)
    assert attrs["Tag_CPU_arch"] == "v6S-M" and attrs["Tag_CPU_arch_profile"] == "Microcontroller"
    assert "Tag_FP_arch" not in attrs
    assert m0.symbols["__stack_top"] == 0x20000000 + 16 * 1024
    assert m0.flash_bytes < 16 * 1024 and m0.static_ram_bytes < 4 * 1024
    m55 = build_firmware(tiny_dir, "mps3-an547")
    attrs = _cpu_attributes(m55.elf)
    assert attrs["Tag_CPU_arch"] == "v8.1-M.mainline" and attrs["Tag_MVE_arch"] == "MVE Integer and FP"
    assert attrs["Tag_ABI_VFP_args"] == "VFP registers"   # hard float
    assert 0x10000000 <= m55.symbols["tm_marks"] < 0x10000000 + 512 * 1024


@pytest.mark.emulator
@pytest.mark.slow
@needs_qemu
@pytest.mark.parametrize("board", BOARDS)
def test_serial_protocol_over_the_boards_uart(tiny_dir, board):
    xs = np.random.default_rng(5).integers(-128, 128, size=(3, 1, N_IN)).astype(np.int8)
    fw = build_firmware(tiny_dir, board)
    outs, batch = run_firmware(fw, [xs])
    for n, x in enumerate(xs):
        for got, want in zip(outs, reference(x)):
            np.testing.assert_array_equal(got[n], want)
    with QemuSession(fw, timeout=2.0) as s:
        assert s.device.info().name == "tiny"
        for n, x in enumerate(xs):
            outs, res = s.device.run([x])
            for got, want in zip(outs, reference(x)):
                np.testing.assert_array_equal(got, want)
            assert res.counter == "instructions" and res.count == batch.sample_instructions[n]
        s.device.reset()                          # SYSRESETREQ, then HELLO again
        outs, _ = s.device.run([xs[0]])
        np.testing.assert_array_equal(outs[0], reference(xs[0])[0])


def small_cnn(rng: np.random.Generator) -> bytes:
    """int8 [1,8,8,3] -> 3x3 conv (ReLU) -> depthwise 3x3 stride 2 (ReLU6) -> 1x1 conv (ReLU)
    -> 4x4 average pool -> dense [1,5]: per-channel weights, 12 channels (not a multiple of 8).
    Output scales are a third of what spreads a full-range input, so activations stay spread
    after each ReLU (the outputs vary from sample to sample instead of saturating)."""
    b = TFLiteBuilder()
    scale = 0.05
    x = b.tensor("x", (1, 8, 8, 3), "int8", scale=scale, zero_point=-7)

    def layer(name, inp, in_scale, w_shape, out_shape, op, options, channel_axis, depth, **fields):
        cout = w_shape[channel_axis]
        w_scale = rng.uniform(0.002, 0.02, cout)
        w = b.tensor(f"{name}_w", w_shape, "int8", data=rng.integers(-127, 128, w_shape),
                     scale=w_scale, axis=channel_axis)
        bias = b.tensor(f"{name}_b", (cout,), "int32", data=rng.integers(-2000, 2000, cout),
                        scale=in_scale * w_scale)
        out_scale, zero_point = output_scale(in_scale, w_scale, depth) / 3, int(rng.integers(-10, 10))
        y = b.tensor(name, out_shape, "int8", scale=out_scale, zero_point=zero_point)
        b.op(op, [inp, w, bias], [y], options, **fields)
        return y, out_scale, zero_point

    conv = dict(DilationHFactor=1, DilationWFactor=1)
    h, scale, _ = layer("conv", x, scale, (8, 3, 3, 3), (1, 8, 8, 8), "CONV_2D", "Conv2DOptions", 0, 27,
                     Padding=0, StrideH=1, StrideW=1, FusedActivationFunction=1, **conv)
    h, scale, _ = layer("dw", h, scale, (1, 3, 3, 8), (1, 4, 4, 8), "DEPTHWISE_CONV_2D",
                     "DepthwiseConv2DOptions", 3, 9, Padding=0, StrideH=2, StrideW=2,
                     DepthMultiplier=1, FusedActivationFunction=3, **conv)
    h, scale, zero_point = layer("pw", h, scale, (12, 1, 1, 8), (1, 4, 4, 12), "CONV_2D", "Conv2DOptions", 0, 8,
                     Padding=1, StrideH=1, StrideW=1, FusedActivationFunction=1, **conv)
    pooled = b.tensor("pool", (1, 1, 1, 12), "int8", scale=scale, zero_point=zero_point)
    b.op("AVERAGE_POOL_2D", [h], [pooled], "Pool2DOptions", Padding=1, StrideH=1, StrideW=1,
         FilterHeight=4, FilterWidth=4, FusedActivationFunction=0)
    y, _, _ = layer("dense", pooled, scale, (5, 12), (1, 5), "FULLY_CONNECTED", "FullyConnectedOptions",
                 0, 12, FusedActivationFunction=0)
    return b.build([x], [y])


def _tinyml(*args):
    return subprocess.run([sys.executable, "-m", "tinyml.cli", *map(str, args)], capture_output=True,
                          text=True)


@pytest.mark.emulator
@pytest.mark.slow
@needs_qemu
@pytest.mark.parametrize("board", BOARDS)
def test_generated_model_equals_host_and_tflite_micro(board, tmp_path):
    model = tmp_path / "cnn.tflite"
    model.write_bytes(small_cnn(np.random.default_rng(7)))
    out = tmp_path / "cnn"
    assert cli(["compile", str(model), "--board", board, "-o", str(out)]) == 0   # the budget check too
    xs = np.random.default_rng(1).integers(-128, 128, size=(12, 1, 8, 8, 3)).astype(np.int8)
    np.save(tmp_path / "in.npy", xs)
    assert cli(["run", str(out), "--board", board, "--input", str(tmp_path / "in.npy"),
                "--output", str(tmp_path / "out.npy"), "--stats", str(tmp_path / "stats.json")]) == 0
    got = np.load(tmp_path / "out.npy")
    want = tflm_run(model, [xs])[0]
    assert got.dtype == np.int8 and len(np.unique(want)) > 12   # outputs that vary, not saturated
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, run_host(out, [xs])[0])
    stats = __import__("json").loads((tmp_path / "stats.json").read_text())
    per_layer = stats["instructions"]["per_layer"]
    assert stats["board"] == board and stats["status"] == 0 and len(per_layer) == 5
    assert stats["instructions"]["total"] > 0
    report = __import__("json").loads((out / "report.json").read_text())
    assert report["target"] == get_board(board).core_name


def _fits_marks(name):
    return [pytest.mark.emulator, pytest.mark.slow, needs_qemu] if name in MICROBIT_FITS else []


def _samples(model, count, seed):
    from tinyml.frontends import load_model
    graph = load_model(model)
    spec = graph.tensor(graph.inputs[0])
    return np.random.default_rng(seed).integers(-128, 128, (count, *spec.shape)).astype(np.int8)


@pytest.mark.parametrize("name", [pytest.param(n, marks=_fits_marks(n)) for n in INT8_MODELS])
def test_shared_int8_models_on_microbit(name, shared_models, tmp_path):
    """What fits microbit runs there bit-identical to TFLite Micro; the rest is refused by
    `compile --board microbit` in one line naming the memory that overflows, writing nothing."""
    model, out = shared_models / INT8_MODELS[name], tmp_path / name
    done = _tinyml("compile", model, "--board", "microbit", "-o", out)
    if name not in MICROBIT_FITS:
        memory = MICROBIT_OVERFLOWS[name]
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
        assert f"does not fit microbit: {memory} needs" in done.stderr and "Traceback" not in done.stderr
        assert not out.exists()
        return
    assert done.returncode == 0, done.stderr
    assert "\nfits microbit: " in done.stdout
    xs = np.arange(-128, 128, dtype=np.int8).reshape(-1, 1, 1) if name == "hello_world_int8" \
        else _samples(model, 10, seed=3)
    outs, stats = run_on_board(out, "microbit", [xs])
    np.testing.assert_array_equal(outs[0], tflm_run(model, [xs])[0].reshape(outs[0].shape))
    assert sum(stats.layer_instructions) == stats.instructions > 0
    assert stats.peak_stack < 2048   # the budget's stack estimate holds


@pytest.mark.emulator
@pytest.mark.slow
@needs_qemu
@pytest.mark.parametrize("name", list(INT8_MODELS))
def test_shared_int8_models_on_an547(name, shared_models, tmp_path):
    model, out = shared_models / INT8_MODELS[name], tmp_path / name
    done = _tinyml("compile", model, "--board", "mps3-an547", "-o", out)
    assert done.returncode == 0, done.stderr
    xs = _samples(model, 4, seed=4)
    outs, stats = run_on_board(out, "mps3-an547", [xs])
    np.testing.assert_array_equal(outs[0], tflm_run(model, [xs])[0].reshape(outs[0].shape))
    assert sum(stats.layer_instructions) == stats.instructions > 0


@pytest.fixture(scope="module")
def digits_an547(tmp_path_factory):
    examples = Path(__file__).resolve().parents[1] / "examples"
    out = tmp_path_factory.mktemp("digits") / "digits"
    assert cli(["compile", str(examples / "digits_mlp.onnx"), "--dtype", "int8", "--calib",
                str(examples / "digits_calib.npz"), "--board", "mps3-an547", "-o", str(out)]) == 0
    return out, np.load(examples / "digits_test.npz")["x"][:2].astype(np.float32)


@pytest.mark.emulator
@pytest.mark.slow
@needs_qemu
def test_mlperf_mode_on_an547_times_with_its_fpgaio_counter(digits_an547):
    from tinyml.harness.mlperf import MlperfQemu, raw_outputs
    from tinyml.numerics import quantize
    folder, floats = digits_an547
    fw = build_firmware(folder, "mps3-an547", protocol="mlperf", mlperf_model="digits01")
    spec = fw.model.inputs[0]
    xs = quantize(floats, spec.scale, spec.zero_point).reshape(len(floats), *spec.shape)
    host = run_host(folder, [xs])[0]
    with MlperfQemu(fw) as q:
        assert q.device.profile()["model"] == "digits01"
        for n in range(len(xs)):
            q.device.load(xs[n].tobytes())
            r = q.device.infer(3, 1)
            np.testing.assert_array_equal(raw_outputs(r.results, fw.model.outputs)[0], host[n])
            # Virtual time: 2^shift ns per instruction; a wrong counter clock is off by 25% or more.
            per = q.invoke_counts()[-1].total * 2 ** q.icount_shift / 1000
            assert 3 * per <= r.lap_us <= 3 * per * 1.05 + 50


@needs_arm_gcc
def test_mlperf_mode_on_microbit_is_refused_for_want_of_a_counter(tiny_dir):
    from tinyml.harness.errors import HarnessError
    with pytest.raises(HarnessError, match="microbit: no counter to time inferences with"):
        build_firmware(tiny_dir, "microbit", protocol="mlperf")
