"""Small NHWC networks built layer by layer (int8 with random quantization, or float32), for
the memory planner's tests: chains, residual blocks, concatenations."""

from __future__ import annotations

import numpy as np

from conv_cases import RELU, output_scale, resolve_pads
from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.ops.base import NO_CLAMP
from tinyml.ops.binary import BinaryAttrs
from tinyml.ops.concatenation import ConcatAttrs
from tinyml.ops.conv2d import Conv2DAttrs, conv_output_hw
from tinyml.ops.depthwise_conv2d import DepthwiseConv2DAttrs
from tinyml.ops.fully_connected import FullyConnectedAttrs
from tinyml.ops.pool2d import Pool2DAttrs


class Net:
    def __init__(self, shape: tuple[int, ...], dtype: str = "int8", seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.dtype = dtype
        self.tensors: dict[str, Tensor] = {}
        self.nodes: list[Node] = []
        self.input = self._tensor(shape, scale=0.05)

    def _tensor(self, shape, scale=None, data=None, dtype=None, quant=None) -> str:
        name = f"t{len(self.tensors)}"
        dtype = dtype or self.dtype
        if quant is None and dtype == "int8" and data is None:
            quant = Quant.of(scale, int(self.rng.integers(-20, 20)))
        self.tensors[name] = Tensor(name, tuple(shape), dtype, quant, data)
        return name

    def shape(self, t: str) -> tuple[int, ...]:
        return self.tensors[t].shape

    def _scale(self, t: str) -> float:
        q = self.tensors[t].quant
        return q.scale[0] if q else 1.0

    def _weights(self, shape, out_axis: int, depth: int, x: str):
        cout = shape[out_axis]
        if self.dtype == "int8":
            w_scale = self.rng.uniform(0.002, 0.02, cout)
            w = self._tensor(shape, data=self.rng.integers(-127, 128, shape), dtype="int8",
                             quant=Quant.of(w_scale, 0, axis=out_axis))
            b = self._tensor((cout,), data=self.rng.integers(-5000, 5000, cout), dtype="int32")
            return w, b, output_scale(self._scale(x), w_scale, depth)
        w = self._tensor(shape, data=self.rng.standard_normal(shape).astype(np.float32) * 0.3)
        b = self._tensor((cout,), data=self.rng.standard_normal(cout).astype(np.float32))
        return w, b, None

    def _add(self, op, inputs, shape, attrs, scale=None) -> str:
        y = self._tensor(shape, scale=scale)
        self.nodes.append(Node(f"n{len(self.nodes)}", op, tuple(inputs), (y,), attrs))
        return y

    def conv(self, x, cout, kernel=(3, 3), strides=(1, 1), padding="same", act=RELU,
             dilations=(1, 1)) -> str:
        n, h, w, cin = self.shape(x)
        pads = resolve_pads(padding, (h, w), kernel, strides, dilations)
        oh, ow = conv_output_hw((h, w), kernel, strides, dilations, pads)
        wt, b, scale = self._weights((cout, *kernel, cin), 0, kernel[0] * kernel[1] * cin, x)
        return self._add("Conv2D", (x, wt, b), (n, oh, ow, cout),
                         Conv2DAttrs(strides, dilations, pads, 1, act), scale)

    def dw(self, x, kernel=(3, 3), strides=(1, 1), padding="same", act=RELU) -> str:
        n, h, w, c = self.shape(x)
        pads = resolve_pads(padding, (h, w), kernel, strides, (1, 1))
        oh, ow = conv_output_hw((h, w), kernel, strides, (1, 1), pads)
        wt, b, scale = self._weights((1, *kernel, c), 3, kernel[0] * kernel[1], x)
        return self._add("DepthwiseConv2D", (x, wt, b), (n, oh, ow, c),
                         DepthwiseConv2DAttrs(strides, (1, 1), pads, 1, act), scale)

    def pool(self, x, op="MaxPool2D", kernel=(2, 2), strides=(2, 2), padding="valid") -> str:
        n, h, w, c = self.shape(x)
        pads = resolve_pads(padding, (h, w), kernel, strides, (1, 1))
        oh, ow = conv_output_hw((h, w), kernel, strides, (1, 1), pads)
        y = self._add(op, (x,), (n, oh, ow, c), Pool2DAttrs(kernel, strides, pads))
        self.tensors[y] = self.tensors[y].with_(quant=self.tensors[x].quant)
        return y

    def add(self, a, b, act=NO_CLAMP) -> str:
        return self._add("Add", (a, b), self.shape(a), BinaryAttrs(act),
                         2 * max(self._scale(a), self._scale(b)))

    def relu(self, x) -> str:
        y = self._add("Relu", (x,), self.shape(x), None)
        self.tensors[y] = self.tensors[y].with_(quant=self.tensors[x].quant)
        return y

    def requantize(self, x, quant) -> str:
        y = self._add("Quantize", (x,), self.shape(x), None)
        self.tensors[y] = self.tensors[y].with_(quant=quant)
        return y

    def concat(self, xs, axis) -> str:
        """A pure copy: inputs at another quantization than the first's are requantized."""
        shape = list(self.shape(xs[0]))
        shape[axis] = sum(self.shape(x)[axis] for x in xs)
        quant = self.tensors[xs[0]].quant
        xs = [x if self.tensors[x].quant == quant else self.requantize(x, quant) for x in xs]
        y = self._add("Concatenation", xs, tuple(shape), ConcatAttrs(axis))
        self.tensors[y] = self.tensors[y].with_(quant=quant)
        return y

    def fc(self, x, n_out, act=NO_CLAMP) -> str:
        n_in = self.shape(x)[-1]
        wt, b, scale = self._weights((n_out, n_in), 0, n_in, x)
        return self._add("FullyConnected", (x, wt, b), (self.shape(x)[0], n_out),
                         FullyConnectedAttrs(act), scale)

    def reshape(self, x, shape) -> str:
        y = self._add("Reshape", (x,), tuple(shape), None)
        self.tensors[y] = self.tensors[y].with_(quant=self.tensors[x].quant)
        return y

    def graph(self, *outputs: str, name: str = "net") -> Graph:
        used = {t for n in self.nodes for t in (*n.inputs, *n.outputs) if t} | {self.input}
        return Graph.build(name, self.nodes, [t for k, t in self.tensors.items() if k in used],
                           [self.input], list(outputs))
