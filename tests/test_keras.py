"""Keras models through TensorFlow's converter; our int8 PTQ against TF's full-int8 converter."""

import os
import subprocess
import sys

import numpy as np
import pytest

from helpers import tflm_interpreter, tflm_run
from tinyml.codegen import write_library
from tinyml.compiler import compile_model
from tinyml.errors import UnsupportedError
from tinyml.frontends import load_model
from tinyml.frontends.keras import keras2_layers
from tinyml.harness.host import run_host
from tinyml.numerics import quantize
from tinyml.ref import run as ref_run

SEED = 0


@pytest.fixture(scope="module")
def tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow
    except ImportError:
        pytest.skip("tensorflow is not installed (the [tf] extra: pip install tinyml[tf])")
    return tensorflow


def test_without_tensorflow_keras_models_ask_for_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)    # makes `import tensorflow` fail
    path = tmp_path / "m.keras"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UnsupportedError, match=r"need the \[tf\] extra: pip install tinyml\[tf\]"):
        load_model(path)


def test_core_does_not_import_tensorflow():
    code = ("import sys, tinyml.compiler, tinyml.cli, tinyml.quant, tinyml.frontends.tflite; "
            "sys.exit('tensorflow' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.tf
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:Statistics for quantized")
@pytest.mark.parametrize("form", ["keras", "h5", "saved_model"])
def test_float_keras_model_matches_keras(tf, form, tmp_path):
    keras = tf.keras
    keras.utils.set_random_seed(SEED)
    model = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(3)])
    path = tmp_path / {"keras": "m.keras", "h5": "m.h5", "saved_model": "m_saved"}[form]
    if form == "saved_model":
        model.export(path, verbose=False)
    else:
        model.save(path)
    graph = load_model(path)
    assert graph.tensor(graph.inputs[0]).shape == (1, 6, 6, 2)
    assert not any(n.op in ("Shape", "Pack") for n in graph.nodes)  # static batch of 1
    xs = np.random.default_rng(1).standard_normal((4, 1, 6, 6, 2)).astype(np.float32)
    want = model.predict(xs[:, 0], verbose=0)
    got = np.stack([ref_run(graph, [x])[0][0] for x in xs])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[..., None]          # [N, 8, 8, 1], 0..1
    return train_test_split(x, data.target, test_size=0.25, random_state=SEED,
                            stratify=data.target)


def _digits_cnn(keras):
    layers = keras.layers
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        layers.Conv2D(16, 3, padding="same", use_bias=False),
        layers.BatchNormalization(momentum=0.9),
        layers.ReLU(),
        layers.DepthwiseConv2D(3, padding="same"),
        layers.BatchNormalization(momentum=0.9),
        layers.ReLU(6.0),
        layers.MaxPooling2D(2),
        layers.Conv2D(24, 1, activation="relu"),
        layers.AveragePooling2D(2),
        layers.Flatten(),
        layers.Dense(10),
        layers.Softmax(),
    ])


def _tf_int8(tf, model, calib: np.ndarray) -> bytes:
    inp = tf.keras.Input(batch_shape=(1, 8, 8, 1))
    fixed = tf.keras.Model(inp, model(inp))
    converter = tf.lite.TFLiteConverter.from_keras_model(fixed)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[None]] for x in calib)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


@pytest.mark.tf
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:Statistics for quantized")
def test_digits_cnn_int8_ptq_matches_tf_converter(tf, tmp_path):
    keras = tf.keras
    keras.utils.set_random_seed(SEED)
    x_train, x_test, y_train, y_test = _digits()
    model = _digits_cnn(keras)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    model.fit(x_train, y_train, epochs=8, batch_size=64, verbose=0)
    float_acc = float(np.mean(model.predict(x_test, batch_size=512, verbose=0).argmax(1) == y_test))
    assert float_acc > 0.9, f"the float CNN trained badly ({float_acc:.1%})"
    calib = x_train[:200]

    tf_model = _tf_int8(tf, model, calib)
    tf_in = tflm_interpreter(tf_model).get_input_details(0)["quantization_parameters"]
    scale, zp = tf_in["scales"][0], tf_in["zero_points"][0]
    tf_out = tflm_run(tf_model, [quantize(x_test[:, None], scale, zp)])[0]
    tf_acc = float(np.mean(tf_out.reshape(len(y_test), -1).argmax(1) == y_test))

    path = tmp_path / "digits.keras"
    model.save(path)
    compiled = compile_model(path, dtype="int8", calib=calib[:, None])
    graph = compiled.graph
    ops = {n.op for n in graph.nodes}
    assert {"Conv2D", "DepthwiseConv2D", "FullyConnected", "MaxPool2D"} <= ops, ops
    x_q = graph.tensor(graph.inputs[0]).quant
    # the same calibration data gives TF's input parameters
    assert x_q.zero_point[0] == zp and x_q.scale[0] == pytest.approx(scale, rel=1e-6)
    write_library(compiled.code, tmp_path / "lib")
    x_int8 = quantize(x_test[:, None], x_q.scale[0], x_q.zero_point[0])
    out = run_host(tmp_path / "lib", [x_int8])[0]
    our_acc = float(np.mean(out.reshape(len(y_test), -1).argmax(1) == y_test))
    assert abs(our_acc - tf_acc) <= 0.01, (f"tinyml int8 {our_acc:.2%} vs TF int8 {tf_acc:.2%} "
                                           f"(float {float_acc:.2%})")


@pytest.mark.tf
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("rel", ["mlperf_tiny/ad/ad01.h5", "mlperf_tiny/vww/vww_96.h5",
                                 "mlperf_tiny/kws/kws_ref_model_savedmodel"])
def test_shared_keras_models_match_tensorflow(tf, rel, shared_models, tmp_path):
    """The MLPerf Tiny Keras files, compiled to float C, against TensorFlow running them."""
    path = shared_models / rel
    graph = load_model(path)
    spec = graph.tensor(graph.inputs[0])
    x = np.random.default_rng(SEED).uniform(-1, 1, (4, *spec.shape)).astype(np.float32)
    if path.is_dir():  # a TF 2 Keras 2 SavedModel: current TF runs it only in graph mode
        with tf.compat.v1.Session(graph=tf.Graph()) as sess:
            meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], str(path))
            sig = meta.signature_def["serving_default"]
            feed, fetch = (next(iter(m.values())).name for m in (sig.inputs, sig.outputs))
            want = np.stack([sess.run(fetch, {feed: s}) for s in x])
    else:
        model = tf.keras.models.load_model(path, compile=False,
                                           custom_objects=keras2_layers(tf.keras))
        want = np.stack([model(s, training=False).numpy() for s in x])
    write_library(compile_model(path).code, tmp_path / "lib")
    got = run_host(tmp_path / "lib", [x])[0]
    span = float(want.max() - want.min()) or 1.0
    assert np.max(np.abs(got.reshape(want.shape) - want)) <= 1e-4 * span


@pytest.mark.tf
@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_python_lambdas_in_a_model_file_never_run(suffix, tf, tmp_path, capsys):
    from tinyml.cli import main
    marker = str(tmp_path / "ran")
    keras = tf.keras
    inp = keras.Input((4,))
    out = keras.layers.Lambda(lambda t: (open(marker, "w").close(), t)[1])(inp)
    path = tmp_path / f"lambda{suffix}"
    keras.Model(inp, out).save(path)
    os.remove(marker)                  # building the model ran the lambda once
    rc = main(["compile", str(path), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and "Lambda" in err, err
    assert not os.path.exists(marker) and not (tmp_path / "out").exists()
