"""The Cortex-M4 cycle estimate: the table on known counts, the clock it is stated at, and
where it is shown (the run's stats document and table, benchmarks/firmware_report.py)."""

import importlib.util
import re
from pathlib import Path

import pytest

from tinyml.harness import cycles
from tinyml.harness.icount import COUNTERS
from tinyml.harness.stats import RunStats, stats_table

ROOT = Path(__file__).resolve().parents[1]


def counts(**nonzero) -> dict[str, int]:
    return {name: nonzero.get(name, 0) for name in COUNTERS}


def test_every_plugin_counter_is_priced_with_its_source():
    assert tuple(t.counter for t in cycles.TIMINGS) == COUNTERS
    assert all(t.cycles >= 1 and ("3.3" in t.source or "ch. 7" in t.source) for t in cycles.TIMINGS)


def test_table_on_known_counts():
    c = counts(alu=100, load=10, load_pipelined=6, store=4, store_pipelined=3, ldm=2, ldm_regs=9,
               stm=2, stm_regs=9, ldrd=1, strd=1, mul=5, mul_long=2, dsp=40, div=1, branch=20,
               branch_taken=15, pc_load=2, it=3, vfp_mac=4, vfp_ldst=2, vfp_ldm=1, vfp_ldm_words=16,
               vfp_div=1, vfp_sqrt=1, vfp_other=7, other=2)
    want = (100 + 2 * 10 + 6 + 2 * 4 + 3 + (2 + 9) + (2 + 9) + 3 + 3 + 5 + 2 + 40 + 7
            + 20 + 2 * 15 + 2 * 2 + 3 + 3 * 4 + 2 * 2 + (1 + 16) + 14 + 14 + 7 + 2)
    assert cycles.estimate_cycles(c) == want
    assert sum(cycles.cycles_by_counter(c).values()) == want
    assert cycles.cycles_by_counter(counts(dsp=8)) == {"dsp": 8}


def test_missing_counters_are_refused():
    with pytest.raises(KeyError, match="branch_taken"):
        cycles.estimate_cycles({k: 0 for k in COUNTERS if k != "branch_taken"})


@pytest.mark.parametrize("board, hz, said", [
    ("mps2-an386", 120_000_000, "NUCLEO-L4R5ZI"),    # emulated M4: the MLPerf Tiny reference board
    ("nucleo-l4r5zi", 120_000_000, "rated clock"),
    ("stm32f746g-disco", 216_000_000, "rated clock"),
    ("nrf52840-dk", 64_000_000, "nrf52840-dk's clock"),
    ("mps2-an385", 25_000_000, "mps2-an385's clock"),
])
def test_estimate_clock(board, hz, said):
    clock = cycles.estimate_clock(board)
    assert clock.hz == hz and said in clock.basis
    assert cycles.estimated_ms(120_000, clock) == pytest.approx(120_000 / hz * 1000)


def test_caveat_for_other_cores():
    assert cycles.timing_caveat("mps2-an386") is None
    assert "cortex-m7" in cycles.timing_caveat("mps2-an500")


def _stats() -> RunStats:
    layers = [{"name": "conv", "op": "Conv2D", "macs": 600, "kernel": "tm_conv"},
              {"name": "fc", "op": "FullyConnected", "macs": 100, "kernel": "tm_fc"}]
    per_layer = [counts(alu=50, dsp=300, branch=50, branch_taken=49, load=200),
                 counts(alu=80, load=100, branch=20, branch_taken=10)]
    total = {k: per_layer[0][k] + per_layer[1][k] for k in COUNTERS}
    return RunStats("mps2-an386", 0, 800, [600, 200], 10, 2, 3, 64, 16, 700, 0.5, layers,
                    sample_instructions=[800], classes=total, layer_classes=per_layer)


def test_stats_document_and_table_carry_the_estimate():
    stats = _stats()
    # layer 0: 50 + 300 + 50 + 2*49 + 2*200 = 898; layer 1: 80 + 200 + 20 + 20 = 320
    assert stats.layer_estimated_cycles == [898, 320] and stats.estimated_cycles == 1218
    doc = stats.to_dict()
    assert doc["estimate"]["cycles"] == 1218 and doc["estimate"]["clock_hz"] == 120_000_000
    assert doc["estimate"]["ms"] == pytest.approx(1218 / 120e6 * 1e3)
    assert "not a measurement" in doc["estimate"]["label"]
    assert [layer["estimated_cycles"] for layer in doc["instructions"]["per_layer"]] == [898, 320]
    table = stats_table(doc)
    assert "est. cycles" in table.splitlines()[0]
    row = next(line for line in table.splitlines() if "conv" in line)
    assert "898" in row and "0.668" in row       # 600 MACs / 898 estimated cycles
    assert "estimated 1,218 Cortex-M4 cycles = 0.01 ms" in table and "120 MHz" in table
    assert "not a measurement" in table


def test_stats_without_classes_have_no_estimate():
    stats = RunStats("mps2-an386", 0, 100, [60, 40], 10, 2, 3, 64, 16, 80, 0.5, [])
    assert stats.estimated_cycles is None and "estimate" not in stats.to_dict()
    assert "est. cycles" not in stats_table(stats.to_dict())


@pytest.fixture(scope="module")
def firmware_report():
    spec = importlib.util.spec_from_file_location("firmware_report", ROOT / "benchmarks" / "firmware_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_firmware_report_speed_fields(firmware_report):
    fast = firmware_report.speed_fields("kws", 4_000_000, 6_000_000)
    assert fast["cmsis_nn_instructions"] == 7_697_920
    assert fast["ratio_to_cmsis_nn"] == pytest.approx(4_000_000 / 7_697_920) and fast["target_met"] is True
    assert fast["estimated_ms_120mhz"] == pytest.approx(50.0)
    assert fast["published_ms_nucleo_l4r5zi"]["ST X-CUBE-AI 9.0"] == 43.19
    slow = firmware_report.speed_fields("ad", 582_942, None)
    assert slow["ratio_to_cmsis_nn"] == 1.0 and slow["target_met"] is False
    assert slow["estimated_ms_120mhz"] is None


def test_firmware_report_tables_on_a_fixed_sample(firmware_report):
    stats = _stats()
    stats.layers[0]["variant_reason"] = "pointwise, DSP"
    layers = firmware_report.per_layer(stats)
    assert layers[0]["estimated_cycles"] == 898 and layers[0]["macs_per_instruction"] == 1.0
    assert layers[0]["kernel"] == "tm_conv" and layers[1]["variant_reason"] is None
    row = {"model": "kws", "file": "kws.tflite", "instructions": 800, "macs": 700,
           "macs_per_instruction": 700 / 800, "flash_bytes": 12, "arena_bytes": 16, "peak_stack_bytes": 64,
           "static_ram_bytes": 5, "sram_bytes": 69, "layers": layers,
           **firmware_report.speed_fields("kws", 800, stats.estimated_cycles)}
    fail = dict(row, model="ad", **firmware_report.speed_fields("ad", 582_942, None))
    text = firmware_report.report_text("mps2-an386", [row, fail], [{"model": "ic", "reason": "absent"}])
    lines = text.splitlines()
    kws = next(line for line in lines if line.startswith("kws ") and "7,697,920" in line)
    assert "1,218" in kws and "0.00x" in kws and kws.endswith("pass") and "43.19 / 47.78" in kws
    ad = next(line for line in lines if line.startswith("ad ") and "582,942" in line)
    assert "1.00x" in ad and ad.endswith("FAIL")
    assert "ic    skipped: absent" in lines
    conv = next(line for line in lines if " conv " in line)
    assert "tm_conv" in conv and "pointwise, DSP" in conv and "898" in conv
    assert "never a measurement" in lines[0]


def test_doc_lists_every_counter_with_its_cycles():
    doc = (ROOT / "docs" / "cycle-estimate.md").read_text()
    rows = [line for line in doc.splitlines() if line.startswith("| `")]
    listed = {name for line in rows for name in re.findall(r"`(\w+)`", line.split("|")[1])}
    assert listed == set(COUNTERS)
    assert "never stand in for a measurement" in doc
