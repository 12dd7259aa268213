"""The packages in every output folder (docs/packages.md): the CMake package builds on the
host and for a Cortex-M4 with arm-none-eabi-gcc, two models link into one CMake project; the
Zephyr module, the PlatformIO and the Arduino library validate against their tools'
documented formats, and their sources build with the cross toolchain. Zephyr, PlatformIO's
toolchains and arduino-cli cannot be installed here (no network but PyPI and Debian):
Zephyr's build is stood in for by tests/packages/zephyr_stub (its four CMake functions)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyml.cli import main

HERE = Path(__file__).parent
EXAMPLES = HERE.parent / "examples"
TOOLCHAIN = HERE / "packages" / "arm-none-eabi.cmake"
TWO = HERE / "two_models"
CROSS = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-std=c99",
         "-O2", "-Wall", "-Wextra", "-Werror")

needs_cmake = pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed")
needs_arm = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                               reason="arm-none-eabi-gcc is not installed")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two models whose folders share kernels: the digits MLP (int8) and the same with
    another name, compiled for the Cortex-M4."""
    root = tmp_path_factory.mktemp("packages")
    for name in ("alpha", "beta"):
        assert main(["compile", str(EXAMPLES / "digits_mlp.onnx"), "--target", "cortex-m4",
                     "--dtype", "int8", "--calib", str(EXAMPLES / "digits_calib.npz"),
                     "--name", name, "-o", str(root / name)]) == 0
    return root


def _run(*cmd, cwd=None):
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, (cmd, done.stdout[-2000:], done.stderr[-2000:])
    return done


def _is_thumb(archive: Path) -> bool:
    return "elf32-littlearm" in _run("arm-none-eabi-objdump", "-f", archive).stdout


@needs_cmake
@needs_arm
def test_cmake_package_builds_on_host_and_for_cortex_m4(models, tmp_path):
    _run("cmake", "-S", models / "alpha", "-B", tmp_path / "host")
    _run("cmake", "--build", tmp_path / "host")
    assert (tmp_path / "host" / "libalpha.a").is_file()
    _run("cmake", "-S", models / "alpha", "-B", tmp_path / "arm", f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}")
    _run("cmake", "--build", tmp_path / "arm")
    assert _is_thumb(tmp_path / "arm" / "libalpha.a")
    assert _is_thumb(tmp_path / "arm" / "libtinyml_kernels.a")


@needs_cmake
@needs_arm
def test_two_models_in_one_cmake_project_cross_build(models, tmp_path):
    """tests/two_models links alpha::alpha and beta::beta (the exported targets); for the M4
    the libraries build and the kernels both use exist once."""
    _run("cmake", "-S", TWO, "-B", tmp_path, f"-DALPHA={models / 'alpha'}",
         f"-DBETA={models / 'beta'}", f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}")
    _run("cmake", "--build", tmp_path, "--target", "alpha", "beta", "tinyml_kernels")
    symbols = _run("arm-none-eabi-nm", tmp_path / "alpha" / "libtinyml_kernels.a").stdout
    assert symbols.count(" T tm_fully_connected_dsp_s8\n") == 1


# -- Zephyr ---------------------------------------------------------------------------------

ZEPHYR_TOP = {"name", "build", "samples", "tests", "boards", "security", "package-managers",
              "blobs"}
ZEPHYR_BUILD = {"cmake", "kconfig", "cmake-ext", "kconfig-ext", "sysbuild-cmake",
                "sysbuild-kconfig", "sysbuild-cmake-ext", "sysbuild-kconfig-ext", "depends",
                "settings"}


def test_zephyr_module_validates(models):
    """zephyr/module.yml as Zephyr's scripts/zephyr_module.py reads it: known keys only, a
    name, `build: cmake:` a folder (relative to the module root) with a CMakeLists.txt,
    `kconfig:` a Kconfig file that defines the option the CMakeLists.txt tests."""
    yaml = pytest.importorskip("yaml")
    root = models / "alpha"
    meta = yaml.safe_load((root / "zephyr" / "module.yml").read_text())
    assert set(meta) <= ZEPHYR_TOP and set(meta["build"]) <= ZEPHYR_BUILD
    assert re.fullmatch(r"[A-Za-z0-9_-]+", meta["name"])
    assert (root / meta["build"]["cmake"] / "CMakeLists.txt").is_file()
    kconfig = (root / meta["build"]["kconfig"]).read_text()
    option = re.search(r"^config (\w+)\n\s+bool ", kconfig, re.M).group(1)
    assert f"if(CONFIG_{option})" in (root / meta["build"]["cmake"] / "CMakeLists.txt").read_text()


@needs_cmake
@needs_arm
def test_zephyr_modules_build_with_zephyr_stub(models, tmp_path):
    """Both models' modules enabled in one build (the stub of Zephyr's functions): their
    libraries compile for the M4, each shared kernel once."""
    stub = HERE / "packages" / "zephyr_stub"
    _run("cmake", "-S", stub, "-B", tmp_path, f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}",
         f"-DMODULES={models / 'alpha'};{models / 'beta'}",
         "-DCONFIGS=CONFIG_TINYML_ALPHA;CONFIG_TINYML_BETA")
    _run("cmake", "--build", tmp_path)
    libs = {p.name: p for p in tmp_path.rglob("libtinyml_*.a")}
    assert set(libs) == {"libtinyml_alpha.a", "libtinyml_beta.a"}
    kernels = [name for name, lib in libs.items()
               if " T tm_fully_connected_dsp_s8\n" in _run("arm-none-eabi-nm", lib).stdout]
    assert kernels == ["libtinyml_alpha.a"] and all(_is_thumb(lib) for lib in libs.values())


# -- PlatformIO and Arduino --------------------------------------------------------------------

def _cross_compile(root: Path, sources: list[Path], tmp_path: Path) -> None:
    for src in sources:
        _run("arm-none-eabi-gcc", *CROSS, "-I", root, "-c", src, "-o", tmp_path / (src.stem + ".o"))


def _srcfilter(root: Path, patterns: list[str]) -> list[Path]:
    """PlatformIO's build.srcFilter, applied in order: +<glob> adds, -<glob> removes."""
    chosen: set[Path] = set()
    for pattern in patterns:
        sign, glob = pattern[0], pattern[2:-1]
        matched = {p for p in root.glob(glob) if p.suffix in (".c", ".cpp", ".S")}
        chosen = chosen | matched if sign == "+" else chosen - matched
    return sorted(chosen)


@needs_arm
def test_platformio_library_validates_and_its_sources_build(models, tmp_path):
    """library.json against PlatformIO's documented manifest fields (name, semantic version,
    frameworks and platforms "*" or lists, build.srcDir/includeDir folders, srcFilter
    patterns); PlatformIO's own schema too when the platformio package is installed; the
    files srcFilter selects compile for the M4."""
    root = models / "alpha"
    manifest = json.loads((root / "library.json").read_text())
    assert re.fullmatch(r"[\w.-]{1,100}", manifest["name"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    for key in ("frameworks", "platforms"):
        assert manifest[key] == "*" or isinstance(manifest[key], list)
    build = manifest["build"]
    assert (root / build["srcDir"]).is_dir() and (root / build["includeDir"]).is_dir()
    assert all(re.fullmatch(r"[+-]<[^<>]+>", p) for p in build["srcFilter"])
    sources = _srcfilter(root / build["srcDir"], build["srcFilter"])
    report = json.loads((root / "report.json").read_text())
    assert {p.name for p in sources} == {"alpha.c", *{f"{l['kernel']}.c" for l in report["layers"]}}
    assert _platformio_schema(root / "library.json")["name"] == "tinyml_alpha"
    _cross_compile(root, sources, tmp_path)


def _platformio_schema(path: Path) -> dict:
    """The manifest through PlatformIO's own parser and schema (the platformio package, a
    test dependency). Its license check downloads the SPDX list: offline, the list holds the
    one license the manifest names."""
    from platformio.package.manifest import schema
    from platformio.package.manifest.parser import ManifestParserFactory
    from unittest import mock
    spdx = {"licenses": [{"licenseId": "Apache-2.0", "isDeprecatedLicenseId": False}]}
    with mock.patch.object(schema.ManifestSchema, "load_spdx_licenses", staticmethod(lambda: spdx)):
        parsed = ManifestParserFactory.new_from_file(str(path)).as_dict()
        return schema.ManifestSchema().load_manifest(parsed)


ARDUINO_FIELDS = {"name", "version", "author", "maintainer", "sentence", "paragraph",
                  "category", "url", "architectures", "depends", "dot_a_linkage", "includes",
                  "precompiled", "ldflags"}
ARDUINO_CATEGORIES = {"Display", "Communication", "Signal Input/Output", "Sensors",
                      "Device Control", "Timing", "Data Storage", "Data Processing", "Other"}


@needs_arm
def test_arduino_library_validates_and_its_sources_build(models, tmp_path):
    """library.properties as the Arduino library specification has it (key=value lines,
    known keys, the required ones, a listed category, the header it includes); the
    sources, in the library's root (the specification's flat layout), compile for the M4."""
    root = models / "alpha"
    props = dict(line.split("=", 1) for line in (root / "library.properties").read_text().splitlines()
                 if line and not line.startswith("#"))
    assert set(props) <= ARDUINO_FIELDS
    assert {"name", "version", "author", "maintainer", "sentence", "paragraph", "category",
            "architectures"} <= set(props)
    assert props["category"] in ARDUINO_CATEGORIES and props["architectures"] == "*"
    assert re.fullmatch(r"\d+\.\d+\.\d+", props["version"])
    assert all((root / h).is_file() for h in props["includes"].split(","))
    parsed = _platformio_schema(root / "library.properties")   # PlatformIO reads these too
    assert parsed["frameworks"] == ["arduino"] and parsed["headers"] == ["alpha.h"]
    assert not (root / "src").exists()   # flat layout: every .c in the root is compiled
    _cross_compile(root, sorted(root.glob("*.c")), tmp_path)


def test_packages_carry_what_the_model_needs(models):
    """The package files name the model's own sources, so they stay true per model."""
    root = models / "beta"
    report = json.loads((root / "report.json").read_text())
    kernels = sorted({f"{l['kernel']}.c" for l in report["layers"]})
    zephyr = (root / "zephyr" / "CMakeLists.txt").read_text()
    assert all(k in zephyr for k in kernels) and "beta.c" in zephyr
    assert "add_library(beta::beta ALIAS beta)" in (root / "CMakeLists.txt").read_text()
    assert np.all([k in (root / "library.json").read_text() for k in kernels])
