"""Issue acceptance: a CNN pre-trained on scikit-learn's digits, compiled int8 with
--train sparse and adapted through `tinyml train` on the emulated Cortex-M4 to inverted
digits, gains at least 80% of what float fine-tuning of the same parameters gains on the
host (examples/adapt_digits.py, run as a user runs it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("sklearn")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "adapt_digits.py"


@pytest.mark.tf
@pytest.mark.slow
@pytest.mark.emulator
def test_sparse_update_on_the_device_gains_what_float_fine_tuning_gains(tmp_path):
    done = subprocess.run([sys.executable, str(EXAMPLE), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["source_test_accuracy"] > 0.9
    assert results["float"]["before"] < 0.3            # the shift hurts
    assert results["float"]["gain"] > 0.3              # and fine-tuning the subset helps
    assert results["device"]["before"] == pytest.approx(results["float"]["before"], abs=0.1)
    assert results["device"]["gain"] >= 0.8 * results["float"]["gain"]
    train = json.loads((tmp_path / "train.json").read_text())
    assert train["counter"] == "instructions" and train["step_count"] > 0
