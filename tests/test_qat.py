"""Ternary quantization-aware training (tinyml.qat): the numpy ternarization, the straight-through
layers, ternary_model and the export to plain Keras layers."""

import contextlib
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from tinyml.qat import ternarize

SEED = 0


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf = pytest.importorskip("tensorflow")
    # Fails once TensorFlow has started (another test module ran it first): then it stays as set.
    with contextlib.suppress(RuntimeError):
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    return keras


def _by_hand(kernel, channels, scale):
    """t and s per output channel with explicit loops; channels lists (index, weights) pairs."""
    codes = np.zeros(kernel.shape, np.int8)
    scales = []
    for index, weights in channels:
        magnitudes = np.abs(weights.astype(np.float64))
        s = np.float32(magnitudes.mean() if scale == "absmean" else np.median(magnitudes))
        s = max(s, np.float32(1e-8))
        codes[index] = np.clip(np.rint(kernel[index] / s), -1, 1)
        scales.append(s)
    return codes, np.array(scales, np.float32)


@pytest.mark.parametrize("scale", ["absmean", "median"])
def test_ternarize_dense_values(scale):
    # Column 0: mean |w| 1.0, median 0.375 (so the two scales give different codes); column 1 is
    # all zeros, which keeps the floor scale 1e-8.
    kernel = np.array([[3.0, 0.0], [-0.375, 0.0], [0.25, 0.0], [0.375, 0.0]], np.float32)
    codes, scales = ternarize(kernel, "dense", scale)
    expected = {"absmean": ([1, 0, 0, 0], 1.0), "median": ([1, -1, 1, 1], 0.375)}[scale]
    np.testing.assert_array_equal(codes[:, 0], expected[0])
    np.testing.assert_array_equal(codes[:, 1], 0)
    np.testing.assert_array_equal(scales, np.array([expected[1], 1.0], np.float32))
    assert codes.dtype == np.int8 and scales.dtype == np.float32


@pytest.mark.parametrize("scale", ["absmean", "median"])
@pytest.mark.parametrize("kind", ["conv2d", "depthwise_conv2d", "dense"])
def test_ternarize_matches_a_hand_computation(kind, scale):
    rng = np.random.default_rng(SEED)
    shape = {"conv2d": (3, 3, 4, 5), "depthwise_conv2d": (3, 3, 4, 2), "dense": (7, 5)}[kind]
    kernel = rng.normal(size=shape).astype(np.float32)
    if kind == "depthwise_conv2d":
        # Output channel c * multiplier + m, as DepthwiseConv2D orders its outputs.
        channels = [((..., c, m), kernel[:, :, c, m]) for c in range(4) for m in range(2)]
    else:
        channels = [((..., o), kernel[..., o]) for o in range(shape[-1])]
    codes, scales = ternarize(kernel, kind, scale)
    want_codes, want_scales = _by_hand(kernel, channels, scale)
    np.testing.assert_array_equal(codes, want_codes)
    np.testing.assert_array_equal(scales, want_scales)
    assert set(np.unique(codes)) <= {-1, 0, 1}


def test_ternarize_rejects_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        ternarize(np.ones((2, 2)), "conv1d")
    with pytest.raises(ValueError, match="axes"):
        ternarize(np.ones((2, 2)), "conv2d")
    with pytest.raises(ValueError, match="scale"):
        ternarize(np.ones((2, 2)), "dense", scale="max")


def test_ternarize_does_not_import_tensorflow():
    code = ("import sys, numpy, tinyml.qat; tinyml.qat.ternarize(numpy.ones((2, 3)), 'dense'); "
            "sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.tf
@pytest.mark.parametrize("scale", ["absmean", "median"])
@pytest.mark.parametrize("kind", ["dense", "conv2d", "depthwise_conv2d"])
def test_gradients_pass_straight_through(keras, kind, scale):
    import tensorflow as tf
    from tinyml import qat

    keras.utils.set_random_seed(SEED)
    layer, plain, shape = {
        "dense": (qat.TernaryDense(6, scale=scale), keras.layers.Dense(6), (4, 9)),
        "conv2d": (qat.TernaryConv2D(5, 3, scale=scale), keras.layers.Conv2D(5, 3), (2, 6, 6, 3)),
        "depthwise_conv2d": (qat.TernaryDepthwiseConv2D(3, depth_multiplier=2, scale=scale),
                             keras.layers.DepthwiseConv2D(3, depth_multiplier=2), (2, 6, 6, 3)),
    }[kind]
    x = tf.random.normal(shape)
    layer.build(shape)
    plain.build(shape)
    codes, scales = ternarize(layer.kernel.numpy(), kind, scale)
    channels = codes.shape[-2:] if kind == "depthwise_conv2d" else codes.shape[-1:]
    plain.set_weights([scales.reshape(channels) * codes.astype(np.float32), layer.bias.numpy()])
    weights = tf.random.normal(layer.compute_output_shape(shape))

    def loss_and_kernel_gradient(model):
        with tf.GradientTape() as tape:
            # Nonlinear, so the gradient depends on the forward values too.
            loss = tf.reduce_sum(tf.tanh(model(x)) * weights)
        return loss, tape.gradient(loss, model.kernel)

    loss, gradient = loss_and_kernel_gradient(layer)
    plain_loss, plain_gradient = loss_and_kernel_gradient(plain)
    np.testing.assert_allclose(loss.numpy(), plain_loss.numpy(), rtol=1e-5)
    np.testing.assert_allclose(gradient.numpy(), plain_gradient.numpy(), rtol=1e-5, atol=1e-6)
    assert np.count_nonzero(gradient.numpy()) == gradient.numpy().size


def _small_model(keras):
    keras.utils.set_random_seed(SEED)
    return keras.Sequential([
        keras.Input((8, 8, 3), name="image"),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="first"),
        keras.layers.DepthwiseConv2D(3, depth_multiplier=2, activation="relu", name="depthwise"),
        keras.layers.Conv2D(12, 1, activation="relu", name="pointwise"),
        keras.layers.GlobalAveragePooling2D(name="pool"),
        keras.layers.Dense(16, activation="relu", name="hidden"),
        keras.layers.Dense(4, name="last"),
    ])


def _images(n=32):
    rng = np.random.default_rng(SEED)
    return rng.random((n, 8, 8, 3), dtype=np.float32), rng.integers(0, 4, n)


@pytest.fixture(scope="module")
def trained(keras):
    """A QAT model of _small_model after a short fine-tuning, and its export."""
    from tinyml.qat import export, ternary_model

    qat = ternary_model(_small_model(keras), scale="absmean")
    qat.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    qat.fit(*_images(), epochs=2, batch_size=8, verbose=0)
    return qat, export(qat)


@pytest.mark.tf
def test_ternary_model_twins_all_but_the_first_and_last_weight_layers(keras, trained):
    qat, _ = trained
    kinds = {layer.name: type(layer).__name__ for layer in qat.layers}
    assert kinds == {"first": "Conv2D", "depthwise": "TernaryDepthwiseConv2D",
                     "pointwise": "TernaryConv2D", "pool": "GlobalAveragePooling2D",
                     "hidden": "TernaryDense", "last": "Dense"}


@pytest.mark.tf
def test_export_kernels_are_exactly_scale_times_codes(keras, trained):
    qat, exported = trained
    kinds = {"TernaryConv2D": "conv2d", "TernaryDepthwiseConv2D": "depthwise_conv2d",
             "TernaryDense": "dense"}
    for layer in qat.layers:
        plain = exported.get_layer(layer.name)
        assert type(plain) is getattr(keras.layers, type(layer).__name__.removeprefix("Ternary"))
        if not layer.weights:
            continue
        shadow, *rest = layer.get_weights()
        kernel, *plain_rest = plain.get_weights()
        for a, b in zip(rest, plain_rest, strict=True):
            np.testing.assert_array_equal(a, b)     # biases unchanged
        if type(layer).__name__ not in kinds:
            np.testing.assert_array_equal(kernel, shadow)   # float layers unchanged
            continue
        codes, scales = ternarize(shadow, kinds[type(layer).__name__], layer.scale)
        assert kernel.dtype == np.float32
        # The output channels are the trailing axes, in the order of the scales.
        by_channel = kernel.reshape(-1, scales.size)
        np.testing.assert_array_equal(by_channel,
                                      scales * codes.reshape(-1, scales.size).astype(np.float32))
        for channel, s in zip(by_channel.T, scales, strict=True):
            assert set(np.unique(channel)) <= {-s, np.float32(0), s}


@pytest.mark.tf
# Keras' saving converts tensors with np.array(x), which numpy 2 warns about.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_exported_model_loads_in_safe_mode_and_predicts_like_the_qat_model(keras, trained,
                                                                           tmp_path):
    qat, exported = trained
    path = tmp_path / "ternary.keras"
    exported.save(path)
    with zipfile.ZipFile(path) as archive:
        config = archive.read("config.json").decode()
    assert "Ternary" not in config and "tinyml" not in config
    loaded = keras.models.load_model(path, safe_mode=True)
    x, _ = _images(16)
    want = qat.predict(x, verbose=0)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), exported.predict(x, verbose=0))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)


@pytest.mark.tf
# Keras' saving converts tensors with np.array(x), which numpy 2 warns about.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_qat_model_saves_and_loads(keras, trained, tmp_path):
    qat, _ = trained
    path = tmp_path / "qat.keras"
    qat.save(path)
    loaded = keras.models.load_model(path)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in qat.layers]
    assert loaded.get_layer("hidden").scale == "absmean"
    x, _ = _images(8)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), qat.predict(x, verbose=0))


@pytest.mark.tf
def test_ternary_model_with_named_layers(keras):
    from tinyml.qat import ternary_model

    model = _small_model(keras)
    qat = ternary_model(model, layers=["first", "hidden"], scale="median")
    kinds = {layer.name: type(layer).__name__ for layer in qat.layers}
    assert kinds["first"] == "TernaryConv2D" and kinds["hidden"] == "TernaryDense"
    assert kinds["depthwise"] == "DepthwiseConv2D" and kinds["pointwise"] == "Conv2D"
    assert kinds["last"] == "Dense"
    assert qat.get_layer("first").scale == "median"
    for layer in model.layers:     # the shadow weights start as the float weights
        for a, b in zip(layer.get_weights(), qat.get_layer(layer.name).get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="pool"):
        ternary_model(model, layers=["pool"])
    with pytest.raises(ValueError, match="missing"):
        ternary_model(model, layers=["missing"])
