"""`tinyml run --board ... --stats`: the stats document, the per-layer table, the exit code."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tinyml import cli


def _tinyml(*args):
    return subprocess.run([sys.executable, "-m", "tinyml.cli", *map(str, args)],
                          capture_output=True, text=True)


@pytest.mark.emulator
def test_stats_document(hello_dir, tmp_path):
    xs = np.arange(-128, 128, 37, dtype=np.int8).reshape(-1, 1, 1)
    np.save(tmp_path / "x.npy", xs)
    done = _tinyml("run", hello_dir, "--board", "mps2-an386", "--input", tmp_path / "x.npy",
                   "--output", tmp_path / "y.npy", "--stats", tmp_path / "s.json")
    assert done.returncode == 0, done.stderr
    stats = json.loads((tmp_path / "s.json").read_text())
    report = json.loads((hello_dir / "report.json").read_text())
    ins = stats["instructions"]
    assert ins["total"] == ins["per_sample"][0] > 0 and len(ins["per_sample"]) == len(xs)
    assert sum(layer["instructions"] for layer in ins["per_layer"]) == ins["total"]
    assert [layer["name"] for layer in ins["per_layer"]] == [l["name"] for l in report["layers"]]
    assert [layer["op"] for layer in ins["per_layer"]] == [l["op"] for l in report["layers"]]
    assert stats["macs"] == report["macs"]
    assert stats["macs_per_instruction"] == pytest.approx(report["macs"] / ins["total"])
    fw = stats["firmware"]
    assert fw["text"] > 0 and fw["flash_bytes"] == fw["text"] + fw["data"] and fw["bss"] > 0
    assert 0 < stats["peak_stack_bytes"] < 4096 and stats["arena_bytes"] == report["arena_bytes"]
    assert stats["status"] == 0 and stats["emulator"] == "qemu"
    # The table names each layer with its share of the instructions.
    assert f"instructions {ins['total']:,}" in done.stdout
    assert report["layers"][0]["op"] in done.stdout and "MACs/instr" in done.stdout
    from tinyml.harness.host import run_host
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), run_host(hello_dir, [xs])[0])


def test_exit_code_is_the_firmware_status(monkeypatch, tmp_path, capsys):
    from tinyml.harness import board_run, host, stats as run_stats
    io = [{"name": "x", "dtype": "int8", "shape": [1, 1]}]
    monkeypatch.setattr(host, "read_report", lambda d: {"name": "m", "inputs": io, "outputs": io})
    np.save(tmp_path / "x.npy", np.zeros((1, 1), np.int8))
    stats = {"status": 7, "board": "mps2-an386", "emulator": "qemu", "peak_stack_bytes": 8,
             "arena_bytes": 16, "macs": None, "macs_per_instruction": None,
             "instructions": {"total": 10, "per_layer": [], "counter": "x"},
             "firmware": {"text": 1, "data": 2, "bss": 3, "flash_bytes": 3}}
    monkeypatch.setattr(board_run, "run_emulated",
                        lambda d, b, i, e: ([np.zeros(2, np.int8)], stats, run_stats.stats_table(stats)))
    assert cli.main(["run", str(tmp_path), "--board", "mps2-an386", "--input", str(tmp_path / "x.npy"),
                     "--stats", str(tmp_path / "s.json")]) == 7
    assert "status 7" in capsys.readouterr().err
    assert json.loads((tmp_path / "s.json").read_text())["status"] == 7
    stats["status"] = 256   # a status whose low byte is 0 still fails
    assert cli.main(["run", str(tmp_path), "--board", "mps2-an386", "--input", str(tmp_path / "x.npy")]) == 1


def test_real_board_points_to_flash_and_eval(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 1), np.int8))
    (tmp_path / "report.json").write_text(json.dumps({"inputs": [{}]}))
    done = _tinyml("run", tmp_path, "--board", "nucleo-l4r5zi", "--input", tmp_path / "x.npy")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "`tinyml flash" in done.stderr and "`tinyml eval" in done.stderr and "--port" in done.stderr
    done = _tinyml("run", tmp_path, "--stats", tmp_path / "s.json", "--input", tmp_path / "x.npy")
    assert done.returncode == 2 and "need --board" in done.stderr


@pytest.mark.parametrize("counter, count, head", [("cycles", 5000, "cycles 5,000"),
                                                  ("none", 0, "instructions: not measured on renode")])
def test_renode_stats_are_run_stats(counter, count, head):
    """Renode's RunStats: no per-layer counts, the firmware's own counter; the same table code."""
    from tinyml.harness.stats import RunStats, stats_table
    layers = [{"name": "fc", "op": "Gemm", "macs": 80, "kernel": "k", "extra": 1}]
    stats = RunStats("stm32f746g-disco", 0, None, [], 10, 2, 3, 64, 16, 80, 0.5, layers,
                     sample_instructions=[count] if counter != "none" else [], emulator="renode",
                     counter=counter, cycles=count if counter == "cycles" else None)
    doc = stats.to_dict()
    assert doc["emulator"] == "renode" and doc["instructions"]["counter"] == counter
    assert doc["instructions"]["per_layer"] == [] and doc["macs_per_instruction"] is None
    assert doc["cycles"] == (count if counter == "cycles" else None)
    assert doc["layers"] == [{"name": "fc", "op": "Gemm", "macs": 80, "kernel": "k"}]
    assert doc["sram_bytes"] == 2 + 3 + 64 and doc["firmware"]["flash_bytes"] == 12
    table = stats_table(doc)
    assert head in table and "on stm32f746g-disco (renode)" in table


def test_qemu_stats_document_keys():
    from tinyml.harness.stats import RunStats
    doc = RunStats("mps2-an386", 0, 100, [60, 40], 10, 2, 3, 64, 16, 80, 0.5,
                   [{"name": "a", "op": "Gemm", "macs": 50}], sample_instructions=[100]).to_dict()
    assert list(doc) == ["emulator", "board", "status", "instructions", "macs", "macs_per_instruction",
                         "firmware", "peak_stack_bytes", "arena_bytes", "sram_bytes", "wall_seconds"]
    assert doc["instructions"]["counter"] == "exact guest instructions (QEMU plugin)"
    assert doc["instructions"]["per_layer"][0] == {"index": 0, "instructions": 60, "name": "a", "op": "Gemm",
                                                   "macs": 50, "kernel": None}
    assert doc["macs_per_instruction"] == 0.8
