"""Seed models the mutators start from: small TFLite and ONNX models generated here (one per
op family the compiler supports) and, when present, the shared third-party models.

A generated TFLite seed is a recipe `names -> bytes`, so that the hostile-name mutator can
rebuild it with any tensor renamed; every other seed is just its bytes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .tflite_writer import TFLiteBuilder

SHARED_MODELS = Path(os.environ.get("TINYML_SHARED_MODELS",
                                    Path(__file__).resolve().parents[2].parent / "shared" / "models"))


@dataclass(frozen=True)
class Seed:
    name: str
    kind: str                  # "tflite" or "onnx"
    data: bytes
    recipe: Callable[[Callable[[str], str]], bytes] | None = None   # rebuild with renamed tensors


# -- generated TFLite --------------------------------------------------------------------------

def _q(scale=0.05, zero_point=0):
    return dict(scale=scale, zero_point=zero_point)


def _tflite_conv(name):
    b = TFLiteBuilder()
    rng = np.random.default_rng(1)
    x = b.tensor(name("x"), (1, 6, 6, 2), "int8", **_q(0.05, -3))
    w = b.tensor(name("w"), (4, 3, 3, 2), "int8", data=rng.integers(-127, 128, (4, 3, 3, 2)),
                 scale=[0.01, 0.02, 0.015, 0.03], zero_point=0, axis=0)
    bias = b.tensor(name("b"), (4,), "int32", data=rng.integers(-500, 500, 4),
                    scale=[0.0005, 0.001, 0.00075, 0.0015], zero_point=0, axis=0)
    y = b.tensor(name("y"), (1, 3, 3, 4), "int8", **_q(0.1, 2))
    b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", Padding=0, StrideH=2, StrideW=2,
         DilationHFactor=1, DilationWFactor=1, FusedActivationFunction=1)
    return b.build([x], [y])


def _tflite_depthwise_pool_softmax(name):
    b = TFLiteBuilder()
    rng = np.random.default_rng(2)
    x = b.tensor(name("x"), (1, 5, 5, 3), "float32")
    w = b.tensor(name("w"), (1, 3, 3, 3), "float32", data=rng.standard_normal((1, 3, 3, 3)))
    bias = b.tensor(name("b"), (3,), "float32", data=rng.standard_normal(3))
    h = b.tensor(name("h"), (1, 5, 5, 3), "float32")
    p = b.tensor(name("p"), (1, 2, 2, 3), "float32")
    f = b.tensor(name("f"), (1, 12), "float32")
    shape = b.tensor(name("shape"), (2,), "int32", data=[1, 12])
    y = b.tensor(name("y"), (1, 12), "float32")
    b.op("DEPTHWISE_CONV_2D", [x, w, bias], [h], "DepthwiseConv2DOptions", Padding=0, StrideH=1,
         StrideW=1, DepthMultiplier=1, DilationHFactor=1, DilationWFactor=1)
    b.op("MAX_POOL_2D", [h], [p], "Pool2DOptions", Padding=1, StrideH=2, StrideW=2,
         FilterHeight=2, FilterWidth=2)
    b.op("RESHAPE", [p, shape], [f])
    b.op("SOFTMAX", [f], [y], "SoftmaxOptions", Beta=1.0)
    return b.build([x], [y])


def _tflite_fc_add(name):
    b = TFLiteBuilder()
    rng = np.random.default_rng(3)
    x = b.tensor(name("x"), (1, 8), "int8", **_q(0.1, 1))
    w = b.tensor(name("w"), (6, 8), "int8", data=rng.integers(-127, 128, (6, 8)), **_q(0.02))
    bias = b.tensor(name("b"), (6,), "int32", data=rng.integers(-100, 100, 6), **_q(0.002))
    h = b.tensor(name("h"), (1, 6), "int8", **_q(0.2, -1))
    c = b.tensor(name("c"), (1, 6), "int8", data=rng.integers(-100, 100, (1, 6)), **_q(0.1, 0))
    y = b.tensor(name("y"), (1, 6), "int8", **_q(0.25, 3))
    b.op("FULLY_CONNECTED", [x, w, bias], [h], "FullyConnectedOptions", FusedActivationFunction=0)
    b.op("ADD", [h, c], [y], "AddOptions", FusedActivationFunction=3)
    return b.build([x], [y])


def _tflite_concat_avgpool(name):
    b = TFLiteBuilder()
    x = b.tensor(name("x"), (1, 4, 4, 2), "int8", **_q(0.1, 0))
    z = b.tensor(name("z"), (1, 4, 4, 2), "int8", **_q(0.1, 0))
    c = b.tensor(name("c"), (1, 4, 4, 4), "int8", **_q(0.1, 0))
    p = b.tensor(name("p"), (1, 2, 2, 4), "int8", **_q(0.1, 0))
    b.op("RELU", [x], [z])
    b.op("CONCATENATION", [x, z], [c], "ConcatenationOptions", Axis=3, FusedActivationFunction=0)
    b.op("AVERAGE_POOL_2D", [c], [p], "Pool2DOptions", Padding=1, StrideH=2, StrideW=2,
         FilterHeight=2, FilterWidth=2)
    return b.build([x], [p])


def _tflite_transpose_pad_mean(name):
    b = TFLiteBuilder()
    x = b.tensor(name("x"), (1, 3, 4, 2), "float32")
    perm = b.tensor(name("perm"), (4,), "int32", data=[0, 2, 1, 3])
    t = b.tensor(name("t"), (1, 4, 3, 2), "float32")
    pads = b.tensor(name("pads"), (4, 2), "int32", data=[[0, 0], [1, 1], [0, 1], [0, 0]])
    p = b.tensor(name("p"), (1, 6, 4, 2), "float32")
    axes = b.tensor(name("axes"), (2,), "int32", data=[1, 2])
    y = b.tensor(name("y"), (1, 1, 1, 2), "float32")
    b.op("TRANSPOSE", [x, perm], [t])
    b.op("PAD", [t, pads], [p])
    b.op("MEAN", [p, axes], [y], "ReducerOptions", KeepDims=1)
    return b.build([x], [y])


TFLITE_RECIPES = {
    "gen_conv_int8": _tflite_conv,
    "gen_depthwise_pool_softmax_f32": _tflite_depthwise_pool_softmax,
    "gen_fc_add_int8": _tflite_fc_add,
    "gen_concat_avgpool_int8": _tflite_concat_avgpool,
    "gen_transpose_pad_mean_f32": _tflite_transpose_pad_mean,
}


# -- generated ONNX ----------------------------------------------------------------------------

def _onnx_model(nodes, inputs, outputs, initializers, opset=13) -> bytes:
    from onnx import helper
    graph = helper.make_graph(nodes, "fuzz_seed", inputs, outputs, initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             producer_name="tinyml-fuzz").SerializeToString()


def _onnx_seeds() -> dict[str, bytes]:
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(4)
    f32 = TensorProto.FLOAT

    def init(name, shape):
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)

    def vi(name, shape):
        return helper.make_tensor_value_info(name, f32, shape)

    conv = _onnx_model(
        [helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                          strides=[1, 1], dilations=[1, 1], group=1),
         helper.make_node("Relu", ["c"], ["r"]),
         helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
         helper.make_node("Flatten", ["p"], ["f"]),
         helper.make_node("Gemm", ["f", "fw", "fb"], ["g"], transB=1),
         helper.make_node("Softmax", ["g"], ["y"], axis=1)],
        [vi("x", [1, 2, 6, 6])], [vi("y", [1, 5])],
        [init("w", (4, 2, 3, 3)), init("b", (4,)), init("fw", (5, 36)), init("fb", (5,))])
    depthwise = _onnx_model(
        [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                          group=3),
         helper.make_node("Add", ["c", "k"], ["a"]),
         helper.make_node("AveragePool", ["a"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
        [vi("x", [1, 3, 4, 4])], [vi("y", [1, 3, 2, 2])],
        [init("w", (3, 1, 3, 3)), init("k", (3, 1, 1))])
    concat_transpose = _onnx_model(
        [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]),
         helper.make_node("Relu", ["t"], ["r"]),
         helper.make_node("Transpose", ["r"], ["u"], perm=[0, 3, 1, 2]),
         helper.make_node("Concat", ["u", "x"], ["c"], axis=1),
         helper.make_node("Sigmoid", ["c"], ["y"])],
        [vi("x", [1, 2, 3, 3])], [vi("y", [1, 4, 3, 3])], [])
    return {"gen_conv_pool_gemm.onnx": conv, "gen_depthwise_add_avgpool.onnx": depthwise,
            "gen_concat_transpose.onnx": concat_transpose}


def generated_seeds() -> list[Seed]:
    seeds = [Seed(f"{n}.tflite", "tflite", recipe(lambda s: s), recipe)
             for n, recipe in TFLITE_RECIPES.items()]
    seeds += [Seed(n, "onnx", data) for n, data in _onnx_seeds().items()]
    return seeds


def shared_seeds(root: Path = SHARED_MODELS, max_bytes: int | None = None) -> list[Seed]:
    """The shared models' .tflite and .onnx files (none when the folder is absent)."""
    if not root.is_dir():
        return []
    seeds = []
    for path in sorted([*root.rglob("*.tflite"), *root.rglob("*.onnx")]):
        if max_bytes is None or path.stat().st_size <= max_bytes:
            kind = "tflite" if path.suffix == ".tflite" else "onnx"
            seeds.append(Seed(str(path.relative_to(root)).replace("/", "__"), kind,
                              path.read_bytes()))
    return seeds
