"""`tinyml eval`: a labelled data set streamed over the serial protocol to QEMU."""

import json
import socket
import time
from pathlib import Path

import numpy as np
import pytest

from tinyml.cli import main
from tinyml.harness.errors import HarnessError, InputError
from tinyml.harness.evaluate import EvalResult, error_metrics, evaluate, format_table, load_dataset
from tinyml.numerics import quantize

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SPEC = {"shape": [1, 4], "dtype": "int8", "scale": 0.5, "zero_point": -1}


@pytest.mark.emulator
def test_eval_200_digits_is_bit_exact_with_host_accuracy(digits_dir, tmp_path, capsys):
    out = tmp_path / "eval.json"
    rc = main(["eval", str(digits_dir), "--dataset", str(EXAMPLES / "digits_test.npz"),
               "--board", "mps2-an386", "--limit", "200", "--json", str(out),
               "--float-model", str(EXAMPLES / "digits_mlp.onnx")])
    table = capsys.readouterr().out
    assert rc == 0, table
    r = json.loads(out.read_text())
    assert r["samples"] == 200 and r["bit_exact"] == {**r["bit_exact"], "compared": 200, "exact": 200, "rate": 1.0}
    assert r["passed"] and r["failed_status"] == 0
    assert r["accuracy"]["device"] == r["accuracy"]["host"] > 0.9
    assert "quantized to int8" in r["inputs"]
    lat = r["latency"]
    assert lat["counter"] == "instructions" and 0 < lat["min"] <= lat["median"] <= lat["max"]
    m = r["float_model"]["metrics"][0]
    assert r["float_model"]["runtime"] == "onnxruntime"
    assert m["cos"] > 0.99 and m["rmse"] < 0.05 and m["acc"] == r["accuracy"]["device"]
    assert "200 / 200 samples identical" in table and "PASS" in table


@pytest.mark.emulator
def test_eval_int8_inputs_as_given(digits_dir, tmp_path):
    data = np.load(EXAMPLES / "digits_test.npz")
    x = quantize(data["x"][:5], 1 / 255, -128)   # the compiled input's scale and zero point
    np.savez(tmp_path / "q.npz", x=x)
    r = evaluate(digits_dir, tmp_path / "q.npz", board="mps2-an505")
    assert r.passed and r.samples == 5 and r.accuracy is None and "int8 as given" in r.inputs


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("url", [f"socket://127.0.0.1:{_closed_port()}", "loop://"])
def test_dead_port_is_a_one_line_error(digits_dir, url, capsys):
    start = time.monotonic()
    rc = main(["eval", str(digits_dir), "--dataset", str(EXAMPLES / "digits_test.npz"),
               "--port", url, "--timeout", "0.2"])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("tinyml: error: ") and err.count("\n") == 1, err
    assert time.monotonic() - start < 10


def test_board_and_port_are_exclusive(digits_dir, capsys):
    rc = main(["eval", str(digits_dir), "--dataset", "d.npz", "--board", "mps2-an386", "--port", "loop://"])
    assert rc == 2 and "not allowed with" in capsys.readouterr().err


def test_dataset_float_inputs_are_quantized(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.array([[0.5, -0.5, 100.0, 0.74]], np.float32),
             y=np.array([[0, 0, 1, 0]]))
    d = load_dataset(tmp_path / "d.npz", [SPEC])
    np.testing.assert_array_equal(d.inputs[0], [[[0, -2, 127, 0]]])   # round half away, saturate
    assert d.labels.tolist() == [2] and "scale 0.5, zero point -1" in d.note


@pytest.mark.parametrize("x, match", [(np.zeros((2, 5), np.float32), "shape"),
                                      (np.zeros((2, 4), np.int16), "dtype int16")])
def test_dataset_mismatch_is_refused(tmp_path, x, match):
    np.savez(tmp_path / "d.npz", x=x)
    with pytest.raises(InputError, match=match) as info:
        load_dataset(tmp_path / "d.npz", [SPEC])
    assert info.value.exit_code == 2


def test_error_metrics():
    ref = np.array([[0.1, 0.9], [0.8, 0.2]])
    m = error_metrics(ref, ref, np.array([1, 1]))
    assert m["rmse"] == m["mae"] == m["l2r"] == 0 and m["cos"] == pytest.approx(1) and m["acc"] == 0.5
    m = error_metrics(ref + 0.1, ref, None)
    assert m["mae"] == pytest.approx(0.1) and m["acc"] == 1.0


def test_nothing_uncompared_passes():
    r = EvalResult("m", "t", "d", 10, "x", 9, 9, 3, 0, None, {"counter": "none"}, 0.01)
    assert not r.passed and r.to_dict()["bit_exact"]["rate"] == r.to_dict()["match"]["rate"] == 0.9
    assert "FAIL: 1 of 10 samples differ" in format_table(r) and "first: sample 3" in format_table(r)



def test_device_running_another_model_is_refused(digits_dir, capsys):
    """--port: the fake device serves another model's INFO; no sample is sent after it."""
    from fake_device import FakeDevice
    from tinyml.harness import framing as fr
    fake = FakeDevice()
    rc = main(["eval", str(digits_dir), "--dataset", str(EXAMPLES / "digits_test.npz"),
               "--port", fake.url, "--timeout", "0.5"])
    err = capsys.readouterr().err
    fake.close()
    assert rc == 1 and err.count("\n") == 1, err
    assert "runs model 'fake', not 'digits" in err and "tinyml flash" in err
    assert fake.requests == [fr.CMD_INFO]


def _digits_info(digits_dir, **change):
    """The INFO the digits firmware sends, with `change` applied to the name, tensors or build."""
    from fake_device import info_payload
    from tinyml.harness.firmware import build_ids, device_name
    from tinyml.harness.model_dir import read_model_dir
    from tinyml.harness.protocol import parse_info
    model = read_model_dir(digits_dir)
    fields = dict(name=device_name(model), inputs=model.inputs, outputs=model.outputs,
                  build_id=next(iter(build_ids(model))))
    return parse_info(info_payload(**{**fields, **change}))


def test_device_model_check(digits_dir):
    from dataclasses import replace

    from tinyml.harness.evaluate import check_device_model
    from tinyml.harness.model_dir import read_model_dir
    check_device_model(_digits_info(digits_dir), digits_dir, "dev")   # this folder's build: fine
    out = read_model_dir(digits_dir).outputs[0]
    wrong = [(dict(outputs=(replace(out, shape=(1, 5), nbytes=5),)), r"output 0 is int8 \[1, 5\] on the device"),
             (dict(outputs=(out, out)), "has 2 outputs"),
             (dict(build_id=0xC0FFEE), "another build .* 0x00C0FFEE")]
    for change, match in wrong:
        with pytest.raises(HarnessError, match=match):
            check_device_model(_digits_info(digits_dir, **change), digits_dir, "dev")


@pytest.mark.emulator
def test_eval_jobs_2_gives_the_results_of_jobs_1_in_order(digits_dir, tmp_path):
    """Two emulators share 200 samples: every output, the accuracy and the latency figures
    as one emulator gives them, sample for sample."""
    results = {jobs: evaluate(digits_dir, EXAMPLES / "digits_test.npz", board="mps2-an386",
                              limit=200, jobs=jobs) for jobs in (1, 2)}
    one, two = results[1], results[2]
    assert two.target == "2 x mps2-an386 (QEMU)" and one.target == "mps2-an386 (QEMU)"
    for a, b in zip(one.device_outputs, two.device_outputs):
        np.testing.assert_array_equal(a, b)
    assert len({o.tobytes() for o in one.device_outputs[0]}) > 50   # so order shows
    assert (one.exact, one.accuracy, one.latency) == (two.exact, two.accuracy, two.latency)


def test_devices_split_samples_in_runs_and_keep_order():
    from tinyml.harness.devices import Devices, split

    class Session:
        def close(self):
            pass
    assert [list(r) for r in split(7, 3)] == [[0, 1], [2, 3], [4, 5, 6]]
    assert len(split(2, 5)) == 2
    opened = []

    def opener(port):
        opened.append(port)
        return Session(), f"device{len(opened)}", "fake"
    with Devices(opener, 3) as devices:
        seen = devices.map(10, lambda device, n: (device, n))
    assert [n for _, n in seen] == list(range(10))
    assert {d for d, _ in seen} == {"device1", "device2", "device3"} and len(opened) == 3
