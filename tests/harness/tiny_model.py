"""A hand-written model folder that follows docs/generated-api.md, and its numpy twin.

Until `tinyml compile` exists this is what the firmware tests link: two layers (an int8
elementwise op, then an 8->4 int8 dense layer with a shift requantization) and a second,
float32 output, so the harness meets several outputs, dtypes and per-layer hooks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

N_IN = 64
WEIGHTS = (np.arange(4 * N_IN, dtype=np.int64).reshape(4, N_IN) * 37 % 255 - 127).astype(np.int8)

HEADER = """\
#ifndef TINY_H
#define TINY_H
#include <stdint.h>
#include "tm_nn.h"
#ifdef __cplusplus
extern "C" {
#endif
#define TINY_ARENA_SIZE 64
#define TINY_ARENA_ALIGN 16
#define TINY_NUM_INPUTS 1
#define TINY_NUM_OUTPUTS 2
#define TINY_NUM_LAYERS 2
#define TINY_INPUT0_DTYPE TM_DTYPE_INT8
#define TINY_INPUT0_SIZE N_IN
#define TINY_INPUT0_BYTES N_IN
#define TINY_INPUT0_RANK 2
#define TINY_INPUT0_SHAPE {1, N_IN}
#define TINY_INPUT0_SCALE 0x1p-4f
#define TINY_INPUT0_ZERO_POINT (-3)
#define TINY_OUTPUT0_DTYPE TM_DTYPE_INT8
#define TINY_OUTPUT0_SIZE 4
#define TINY_OUTPUT0_BYTES 4
#define TINY_OUTPUT0_RANK 2
#define TINY_OUTPUT0_SHAPE {1, 4}
#define TINY_OUTPUT0_SCALE 0x1.8p-2f
#define TINY_OUTPUT0_ZERO_POINT 5
#define TINY_OUTPUT1_DTYPE TM_DTYPE_FLOAT32
#define TINY_OUTPUT1_SIZE 2
#define TINY_OUTPUT1_BYTES 8
#define TINY_OUTPUT1_RANK 1
#define TINY_OUTPUT1_SHAPE {2}
int tiny_invoke(const void *const *inputs, void *const *outputs, uint8_t *arena);
int tiny_invoke_io(const void *const *inputs, void *const *outputs, uint8_t *arena);
#ifdef __cplusplus
}
#endif
#endif
""".replace("N_IN", str(N_IN))

TM_NN = """\
#ifndef TM_NN_H
#define TM_NN_H
#define TM_OK 0
#define TM_DTYPE_FLOAT32 0
#define TM_DTYPE_INT8 1
#define TM_DTYPE_UINT8 2
#define TM_DTYPE_INT16 3
#define TM_DTYPE_INT32 4
#ifndef TM_LAYER_BEGIN
#define TM_LAYER_BEGIN(i) ((void)0)
#endif
#ifndef TM_LAYER_END
#define TM_LAYER_END(i) ((void)0)
#endif
#endif
"""

SOURCE = """\
#include "tiny.h"

static const int8_t weights[4][N_IN] = {WEIGHTS};

static int8_t sat8(int32_t v) { return (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v); }

int tiny_invoke_io(const void *const *inputs, void *const *outputs, uint8_t *arena)
{
    const int8_t *x = (const int8_t *)inputs[0];
    int8_t *h = (int8_t *)arena;
    int8_t *y = (int8_t *)outputs[0];
    float *f = (float *)outputs[1];
    TM_LAYER_BEGIN(0);
    for (int i = 0; i < N_IN; ++i) {
        h[i] = sat8(2 * (int32_t)x[i] + 1);
    }
    TM_LAYER_END(0);
    TM_LAYER_BEGIN(1);
    float sum = 0.0f, top = -128.0f;
    for (int o = 0; o < 4; ++o) {
        int32_t acc = 0;
        for (int i = 0; i < N_IN; ++i) {
            acc += (int32_t)weights[o][i] * h[i];
        }
        y[o] = sat8(acc >> 6);
    }
    for (int i = 0; i < N_IN; ++i) {
        sum += (float)x[i];
        top = (float)x[i] > top ? (float)x[i] : top;
    }
    f[0] = sum * 0.25f;
    f[1] = top;
    TM_LAYER_END(1);
    return TM_OK;
}

int tiny_invoke(const void *const *inputs, void *const *outputs, uint8_t *arena)
{
    return tiny_invoke_io(inputs, outputs, arena);
}
"""


def write_tiny_model(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = ",\n    ".join("{" + ", ".join(str(int(w)) for w in row) + "}" for row in WEIGHTS)
    (folder / "tiny.h").write_text(HEADER)
    (folder / "tm_nn.h").write_text(TM_NN)
    (folder / "tiny.c").write_text(SOURCE.replace("N_IN", str(N_IN)).replace("WEIGHTS", rows))
    return folder


def reference(x: np.ndarray) -> list[np.ndarray]:
    """The same computation in numpy: the golden outputs."""
    x = x.reshape(-1).astype(np.int32)
    h = np.clip(2 * x + 1, -128, 127)
    acc = WEIGHTS.astype(np.int32) @ h
    y = np.clip(acc >> 6, -128, 127).astype(np.int8).reshape(1, 4)
    f = np.array([np.float32(x.astype(np.float32).sum()) * np.float32(0.25), x.max()], dtype=np.float32)
    return [y, f]
