"""`--io arena` (lower_model(io_in_arena=True)): the model's inputs and outputs are planned
inside the arena like any tensor, the input's bytes reused once it is dead, as TFLite Micro
does. The header gives their offsets and accessors and <name>_invoke_arena; <name>_invoke_io
copies the caller's buffers in and out, so every existing caller works. Outputs equal the
numpy reference and TFLite Micro; the RAM total never exceeds the caller-buffer layout's."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from helpers import random_inputs, run_ref, tflm_run
from test_schedule import _two_branches
from tinyml.codegen import lower_model, write_library
from tinyml.harness.host import run_host
from tinyml.targets.cores import CORES

MAIN = r"""
#include <stdio.h>
#include <string.h>
#include "branches.h"

static uint8_t arena[BRANCHES_ARENA_SIZE] __attribute__((aligned(BRANCHES_ARENA_ALIGN)));

int main(void)
{
    int8_t *in = branches_input0(arena);
    for (int i = 0; i < BRANCHES_INPUT0_SIZE; ++i) {
        int v;
        if (scanf("%d", &v) != 1) {
            return 2;
        }
        in[i] = (int8_t)v;
    }
    if (branches_invoke_arena(arena) != TM_OK) {
        return 3;
    }
    const int8_t *out = branches_output0(arena);
    for (int i = 0; i < BRANCHES_OUTPUT0_SIZE; ++i) {
        printf("%d\n", out[i]);
    }
    return 0;
}
"""


def test_in_place_api_and_copying_api_agree_with_the_reference(tmp_path):
    graph = _two_branches()
    x = random_inputs(graph, 4, np.random.default_rng(2))
    want = run_ref(graph, x)[0]
    lib = tmp_path / "lib"
    code = lower_model(graph, "branches", io_in_arena=True)
    report = write_library(code, lib)
    assert report["io_in_arena"] and report["arena_bytes"] >= report["arena_lower_bound_bytes"]
    inp, out = report["inputs"][0], report["outputs"][0]
    assert 0 <= inp["arena_offset"] < report["arena_bytes"] and out["arena_offset"] is not None
    np.testing.assert_array_equal(run_host(lib, x, sanitize=True)[0], want)
    main = tmp_path / "main.c"
    main.write_text(MAIN)
    exe = tmp_path / "main"
    subprocess.run([os.environ.get("CC", "cc"), "-std=c99", "-Wall", "-Wextra", "-Werror",
                    "-fsanitize=address,undefined", "-fno-sanitize-recover=all", f"-I{lib}",
                    str(main), *map(str, lib.glob("*.c")), "-lm", "-o", str(exe)], check=True)
    for sample, expected in zip(x[0], want):
        text = "\n".join(str(int(v)) for v in sample.reshape(-1))
        got = subprocess.run([str(exe)], input=text, capture_output=True, text=True, check=True)
        assert [int(v) for v in got.stdout.split()] == expected.reshape(-1).tolist()


def test_ram_total_never_above_the_caller_layout():
    graph = _two_branches()
    for core in ("host", "cortex-m4"):
        caller = lower_model(graph, "m", CORES[core])
        inside = lower_model(graph, "m", CORES[core], io_in_arena=True)
        io = sum(t.nbytes for t in (*caller.inputs, *caller.outputs))
        assert inside.plan.lower_bound <= caller.plan.lower_bound + io
        assert inside.plan.lower_bound < caller.plan.lower_bound + io   # the input's bytes reused


MLPERF = {"kws": "mlperf_tiny/kws/kws_ref_model.tflite", "vww": "mlperf_tiny/vww/vww_96_int8.tflite",
          "ic": "mlperf_tiny/ic/pretrainedResnet_quant.tflite", "ad": "mlperf_tiny/ad/ad01_int8.tflite"}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MLPERF))
def test_shared_models_with_io_in_the_arena(name, shared_models, tmp_path):
    from tinyml.compiler import compile_model, write
    from tinyml.harness.qemu import run_on_board
    path = shared_models / MLPERF[name]
    caller = write(compile_model(path, name=name, target="cortex-m4"), tmp_path / "c", "cortex-m4")
    folder = tmp_path / "a"
    inside = write(compile_model(path, name=name, target="cortex-m4", io="arena"), folder,
                   "cortex-m4")
    io = sum(int(np.prod(t["shape"])) for t in (*caller["inputs"], *caller["outputs"]))
    assert inside["arena_bytes"] <= caller["arena_bytes"] + io
    from tinyml.frontends import load_model
    t = load_model(path).tensor(load_model(path).inputs[0])
    x = np.random.default_rng(5).integers(-128, 128, (2, *t.shape)).astype(np.int8)
    want = tflm_run(path, [x])[0]
    got, _ = run_on_board(folder, "mps2-an386", [x], timeout=900)
    np.testing.assert_array_equal(got[0], want)
