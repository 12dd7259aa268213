"""A non-editable install carries the templates, the kernels and the firmware sources."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_carries_codegen_and_firmware_templates(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*_tinyml",
                                                             "__pycache__", ".build"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(tmp_path / "dist"), str(src)], capture_output=True, text=True)
    if proc.returncode != 0 and "hatchling" in proc.stderr and "No matching" in proc.stderr:
        pytest.skip("the build backend (hatchling) cannot be downloaded here")
    assert proc.returncode == 0, proc.stderr
    wheel = next((tmp_path / "dist").glob("tinyml-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "tinyml/_data/codegen/kernels/tm_nn.h" in names
    assert "tinyml/_data/codegen/templates/model.c.j2" in names
    assert any(n.startswith("tinyml/_data/firmware_templates/") for n in names)

    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = ("from tinyml.resources import data_dir; import sys; "
            "d = data_dir('codegen'); sys.exit(0 if str(d).startswith(sys.argv[1]) else 1)")
    subprocess.run([sys.executable, "-c", code, str(target)], cwd=tmp_path, check=True,
                   env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
