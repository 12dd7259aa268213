"""The MLPerf Tiny (EEMBC) text protocol: the runner's side against the QEMU firmware."""

import socket
import time

import numpy as np
import pytest

from tinyml.harness.errors import HarnessError
from tinyml.harness.firmware import build_firmware
from tinyml.harness.host import run_host
from tinyml.harness.mlperf import MlperfDevice, MlperfQemu, dequantized, raw_outputs
from tinyml.harness.model_dir import TensorInfo
from tinyml.numerics import quantize

EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "examples"
OUT = TensorInfo(np.dtype(np.int8), (1, 4), 4, 0.00390625, -128)


def test_results_round_trip_to_raw_int8():
    q = np.array([[-128, -1, 0, 127]], np.int8)
    printed = [float(f"{v:.6f}") for v in dequantized([q], (OUT,))]   # as the firmware prints
    np.testing.assert_array_equal(raw_outputs(printed, (OUT,))[0], q)
    with pytest.raises(HarnessError, match="quantization grid"):
        raw_outputs([0.5, 0.1, 0.2, 0.0011], (OUT,))
    with pytest.raises(HarnessError, match="5 values, the outputs hold 4"):
        raw_outputs([0.0] * 5, (OUT,))


def test_silent_device_times_out_with_one_line():
    with MlperfDevice("loop://", timeout=0.3) as dev:   # echoes "name%": never an m-ready
        start = time.monotonic()
        with pytest.raises(HarnessError, match=r"'name': no m-ready within 0.3 s"):
            dev.name()
        assert time.monotonic() - start < 2


def test_dead_port_is_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(HarnessError, match="cannot open"):
        MlperfDevice(f"socket://127.0.0.1:{port}")


@pytest.mark.emulator
@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an505"])
def test_runner_sequence_against_qemu(digits_dir, board):
    fw = build_firmware(digits_dir, board, protocol="mlperf", mlperf_model="digits01")
    spec = fw.model.inputs[0]
    data = np.load(EXAMPLES / "digits_test.npz")
    floats = data["x"][:4].astype(np.float32)
    xs = quantize(floats, spec.scale, spec.zero_point).reshape(4, *spec.shape)
    host = run_host(digits_dir, [xs])[0]
    with MlperfQemu(fw) as q:
        assert q.boot_lines[0] == "m-timestamp-mode-performance" and q.boot_lines[-1] == "m-init-done"
        dev = q.device
        assert dev.name() == "dut-[tinyml]"
        assert dev.profile()["model"] == "digits01"
        assert dev.timestamp() >= 0
        for n in range(2):                                  # raw int8 bytes, as kws/vww/ic send
            dev.load(xs[n].tobytes())
            assert dev.print_buffer() == xs[n].tobytes()
            r = dev.infer(3, 1)
            np.testing.assert_array_equal(raw_outputs(r.results, fw.model.outputs)[0], host[n])
            np.testing.assert_allclose(r.results, dequantized([host[n]], fw.model.outputs), atol=1e-6)
            assert dev.results() == r.results
            # m-lap-us is virtual time: 2^shift ns per instruction, the loop's 3 inferences
            # plus the first stamp's printing.
            per = q.invoke_counts()[-1].total * 2 ** q.icount_shift / 1000
            assert 3 * per <= r.lap_us <= 3 * per * 1.05 + 50
        dev.load(floats[2].tobytes())                       # float32, quantized on the device (as ad sends)
        assert dev.print_buffer() == xs[2].tobytes()
        r = dev.infer(1, 0)
        np.testing.assert_array_equal(raw_outputs(r.results, fw.model.outputs)[0], host[2])
        for bad, reply in [("bogus", "Command not recognized"), ("db load 7", "db load"),
                           ("infer 0", "must be >0"), ("db 0", "hex digits")]:
            with pytest.raises(HarnessError, match=reply):
                dev.command(bad)
        assert dev.name() == "dut-[tinyml]"                 # still serving after errors


@pytest.mark.emulator
def test_infer_without_input_is_refused(digits_dir):
    fw = build_firmware(digits_dir, "mps2-an386", protocol="mlperf")
    with MlperfQemu(fw) as q:
        assert q.device.profile()["model"] == "digits_mlp"
        with pytest.raises(HarnessError, match="No input"):
            q.device.infer()


def test_unknown_protocol_is_refused(digits_dir):
    with pytest.raises(HarnessError, match="protocol 'json'"):
        build_firmware(digits_dir, "mps2-an386", protocol="json")
