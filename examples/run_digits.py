"""Runs a compiled digits model over the bundled test set on the host and prints its accuracy.

    python examples/run_digits.py build/digits_mlp_tinyml
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tinyml.harness.host import read_report
from tinyml.numerics import quantize


def main(model_dir: str) -> None:
    data = np.load(Path(__file__).parent / "digits_test.npz")
    x, y = data["x"], data["y"]
    spec = read_report(Path(model_dir))["inputs"][0]
    if spec["dtype"] == "int8":
        x = quantize(x, spec["scale"], spec["zero_point"])
    with tempfile.TemporaryDirectory() as tmp:
        np.save(f"{tmp}/x.npy", x)
        subprocess.run([sys.executable, "-m", "tinyml", "run", model_dir, "--input", f"{tmp}/x.npy",
                        "--output", f"{tmp}/y.npy"], check=True)
        scores = np.load(f"{tmp}/y.npy").reshape(len(y), -1)
    print(f"{model_dir}: {len(y)} test digits, accuracy {np.mean(scores.argmax(1) == y):.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
