"""Quantization-aware training of ternary (1.58-bit) weights for Keras models.

The scheme is BitNet b1.58's: each output channel of a kernel w gets one scale s, the mean of |w|
over that channel ("absmean"), or the median of |w| ("median", from "BitNet b1.58 Reloaded"),
never below 1e-8. The ternary weight is s * t with t = clip(round(w / s), -1, 1) in {-1, 0, 1}.

The ternary layers keep float shadow weights and compute with their ternary values; a
straight-through estimator hands the gradient of the ternary kernel to the shadow weights
unchanged, so training moves weights across the rounding thresholds.

    qat = ternary_model(float_model)     # twins of the Conv2D / DepthwiseConv2D / Dense layers
    qat.compile(...); qat.fit(...)       # fine-tune from the float weights
    plain = export(qat)                  # standard Keras layers with kernels exactly s * t

By default the first and the last weight layers stay float (they are small and the most
sensitive; they become int8 later). In an exported ternary kernel the nonzero weights of each
output channel all have the magnitude s, bit for bit: that is how ternary layers are recognised.

`ternarize` is numpy only. The Keras parts need the [tf] extra and import it on first use;
`from tinyml.qat import TernaryDense` (or calling ternary_model) registers the three layers, so
keras.models.load_model reads saved QAT models.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from .quant.ternary import ternarize as quant_ternarize

from .errors import UnsupportedError

KINDS = ("conv2d", "depthwise_conv2d", "dense")
SCALES = ("absmean", "median")
MIN_SCALE = 1e-8

# How many trailing kernel axes index the output channels: Conv2D (kh, kw, in, out) and Dense
# (in, out) have one, DepthwiseConv2D (kh, kw, in, multiplier) has two.
_CHANNEL_AXES = {"conv2d": 1, "depthwise_conv2d": 2, "dense": 1}
_KERNEL_RANK = {"conv2d": 4, "depthwise_conv2d": 4, "dense": 2}
_KERAS_LAYERS = ("TernaryConv2D", "TernaryDepthwiseConv2D", "TernaryDense")


def _check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, not {scale!r}")
    return scale


def _channel_shape(shape: tuple[int, ...], kind: str) -> tuple[int, ...]:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if len(shape) != _KERNEL_RANK[kind]:
        raise ValueError(f"a {kind} kernel has {_KERNEL_RANK[kind]} axes, not shape {shape}")
    return tuple(shape[len(shape) - _CHANNEL_AXES[kind]:])


def ternarize(kernel: np.ndarray, kind: str,
              scale: str = "absmean") -> tuple[np.ndarray, np.ndarray]:
    """Ternary codes t (int8, kernel's shape, values in {-1, 0, 1}) and float32 scales s.

    kind: "conv2d" (kh, kw, in, out), "depthwise_conv2d" (kh, kw, in, multiplier) or "dense"
    (in, out). s has one entry per output channel, in the order of the layer's outputs: for
    depthwise kernels channel c * multiplier + m. The ternary kernel is s * t per channel.
    """
    weights = np.asarray(kernel, dtype=np.float32)
    channels = _channel_shape(weights.shape, kind)
    # every output channel's weights as one column: the compiler's ternarization along axis 1
    codes, scales = quant_ternarize(weights.reshape(-1, int(np.prod(channels))), 1,
                                    _check_scale(scale))
    return codes.reshape(weights.shape), scales


def _ternary_kernel(kernel: np.ndarray, kind: str, scale: str) -> np.ndarray:
    """s * t in float32: each channel's nonzero weights are exactly +-s."""
    codes, scales = ternarize(kernel, kind, scale)
    channels = _channel_shape(codes.shape, kind)
    return scales.reshape(channels) * codes.astype(np.float32)


def _import_keras():
    # TensorFlow's C++ logging would otherwise fill the terminal.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import keras
    except ImportError:
        message = "ternary training needs the [tf] extra: pip install tinyml[tf]"
        raise UnsupportedError(message) from None
    return keras


@functools.cache
def _keras_layers() -> dict[str, type]:
    """The ternary layer classes, defined (and registered with Keras) on first use."""
    keras = _import_keras()
    ops = keras.ops

    class TernaryLayer:
        """Shared by the three twins: the `scale` option and the kernel they compute with."""

        kind: str

        def __init__(self, *args, scale: str = "absmean", **kwargs):
            super().__init__(*args, **kwargs)
            self.scale = _check_scale(scale)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

        def ternary_kernel(self):
            """s * t in the forward pass, the identity for gradients (straight-through)."""
            kernel = self.kernel
            channels = _channel_shape(tuple(kernel.shape), self.kind)
            magnitudes = ops.abs(ops.reshape(kernel, (-1, *channels)))
            if self.scale == "absmean":
                scales = ops.mean(magnitudes, axis=0)
            else:
                ordered = ops.sort(magnitudes, axis=0)
                rows = ordered.shape[0]
                scales = 0.5 * (ordered[(rows - 1) // 2] + ordered[rows // 2])
            scales = ops.maximum(scales, MIN_SCALE)
            ternary = scales * ops.clip(ops.round(kernel / scales), -1, 1)
            # The same estimator as w + stop_gradient(ternary - w), but the forward value is
            # ternary exactly rather than to within a rounding of w, so the exported model
            # computes what was trained.
            return ops.stop_gradient(ternary) + (kernel - ops.stop_gradient(kernel))

        def _add_bias_and_activate(self, outputs):
            if self.use_bias:
                shape = [1] * len(outputs.shape)
                shape[1 if self.data_format == "channels_first" else -1] = -1
                outputs = ops.add(outputs, ops.reshape(self.bias, shape))
            return outputs if self.activation is None else self.activation(outputs)

    @keras.saving.register_keras_serializable(package="tinyml")
    class TernaryConv2D(TernaryLayer, keras.layers.Conv2D):
        """Conv2D computing with ternary weights (output channels: the kernel's last axis)."""

        kind = "conv2d"

        def call(self, inputs):
            return self._add_bias_and_activate(self.convolution_op(inputs, self.ternary_kernel()))

    @keras.saving.register_keras_serializable(package="tinyml")
    class TernaryDepthwiseConv2D(TernaryLayer, keras.layers.DepthwiseConv2D):
        """DepthwiseConv2D computing with ternary weights (one scale per (in, multiplier) pair)."""

        kind = "depthwise_conv2d"

        def call(self, inputs):
            outputs = ops.depthwise_conv(inputs, self.ternary_kernel(), strides=self.strides,
                                         padding=self.padding, dilation_rate=self.dilation_rate,
                                         data_format=self.data_format)
            return self._add_bias_and_activate(outputs)

    @keras.saving.register_keras_serializable(package="tinyml")
    class TernaryDense(TernaryLayer, keras.layers.Dense):
        """Dense computing with ternary weights (output channels: the kernel's last axis)."""

        kind = "dense"

        def call(self, inputs):
            outputs = ops.matmul(inputs, self.ternary_kernel())
            if self.use_bias:
                outputs = ops.add(outputs, self.bias)
            return outputs if self.activation is None else self.activation(outputs)

    classes = {"TernaryConv2D": TernaryConv2D, "TernaryDepthwiseConv2D": TernaryDepthwiseConv2D,
               "TernaryDense": TernaryDense}
    for name, cls in classes.items():
        cls.__module__, cls.__qualname__ = __name__, name
    return classes


def __getattr__(name: str):
    if name in _KERAS_LAYERS:
        globals().update(_keras_layers())
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_KERAS_LAYERS})


def _twins(keras) -> dict[type, type]:
    """Float Keras layer class -> its ternary twin."""
    classes = _keras_layers()
    return {keras.layers.Conv2D: classes["TernaryConv2D"],
            keras.layers.DepthwiseConv2D: classes["TernaryDepthwiseConv2D"],
            keras.layers.Dense: classes["TernaryDense"]}


def _copy_weights(source, target, kernels: dict[str, np.ndarray] | None = None) -> None:
    """Each top-level layer's weights into target's layer of the same name; kernels (by layer
    name) replace the first weight, the kernel."""
    for layer in source.layers:
        weights = layer.get_weights()
        if kernels and layer.name in kernels:
            weights[0] = kernels[layer.name]
        target.get_layer(layer.name).set_weights(weights)


def ternary_model(model, layers: list[str] | None = None, scale: str = "absmean"):
    """A clone of a functional or Sequential float model with ternary twins, for fine-tuning.

    layers: names of the model's (top-level) Conv2D / DepthwiseConv2D / Dense layers to make
    ternary; by default all of them but the first and the last, which stay float. The clone
    starts from the model's weights (as the ternary layers' float shadow weights).
    scale: "absmean" or "median".
    """
    keras = _import_keras()
    _check_scale(scale)
    twins = _twins(keras)
    # Exact types: subclasses (the twins themselves among them) are not plain float layers.
    weight_layers = [layer.name for layer in model.layers if type(layer) in twins]
    if layers is None:
        chosen = set(weight_layers[1:-1])
    else:
        chosen = set(layers)
        unknown = chosen - set(weight_layers)
        if unknown:
            raise ValueError(f"not float Conv2D, DepthwiseConv2D or Dense layers of the model: "
                             f"{sorted(unknown)}")

    def clone(layer):
        if layer.name in chosen:
            return twins[type(layer)].from_config({**layer.get_config(), "scale": scale})
        return layer.__class__.from_config(layer.get_config())

    qat = keras.models.clone_model(model, clone_function=clone)
    _copy_weights(model, qat)
    return qat


def export(model):
    """The model with plain Keras layers: each (top-level) ternary layer becomes its float base
    layer with the kernel s * t in float32.

    The result has the same architecture and layer names, needs no custom objects, and loads
    with keras.models.load_model(path, safe_mode=True).
    """
    keras = _import_keras()
    bases = {twin: base for base, twin in _twins(keras).items()}

    def clone(layer):
        config = layer.get_config()
        if type(layer) in bases:
            del config["scale"]
            return bases[type(layer)].from_config(config)
        return layer.__class__.from_config(config)

    plain = keras.models.clone_model(model, clone_function=clone)
    kernels = {layer.name: _ternary_kernel(layer.get_weights()[0], layer.kind, layer.scale)
               for layer in model.layers if type(layer) in bases}
    _copy_weights(model, plain, kernels)
    return plain
