import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tiny_model import write_tiny_model  # noqa: E402

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "models"
QEMU_BOARDS = ["mps2-an386", "mps2-an500", "mps2-an505", "mps2-an385"]


def _missing_tools():
    return [t for t in ("arm-none-eabi-gcc", "qemu-system-arm", "gcc") if shutil.which(t) is None]


def pytest_collection_modifyitems(config, items):
    missing = _missing_tools()
    if missing:
        skip = pytest.mark.skip(reason=f"emulator tests need {', '.join(missing)} (set-up installs them)")
        for item in items:
            if "emulator" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def hello_dir(tmp_path_factory):
    """hello_world_int8 compiled by `tinyml compile` (the real compiler)."""
    model = SHARED / "tflm" / "hello_world_int8.tflite"
    if not model.exists():
        pytest.skip(f"{model} not present")
    out = tmp_path_factory.mktemp("hw") / "hello_world_int8_tinyml"
    done = subprocess.run([sys.executable, "-m", "tinyml.cli", "compile", str(model),
                           "--target", "cortex-m4", "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr   # a compiler regression fails, never skips
    return out


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory):
    """examples/digits_mlp.onnx compiled to int8 with its calibration set (a labelled task)."""
    examples = Path(__file__).resolve().parents[2] / "examples"
    out = tmp_path_factory.mktemp("digits") / "digits_tinyml"
    done = subprocess.run([sys.executable, "-m", "tinyml.cli", "compile", str(examples / "digits_mlp.onnx"),
                           "--dtype", "int8", "--calib", str(examples / "digits_calib.npz"),
                           "--target", "cortex-m4", "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out
