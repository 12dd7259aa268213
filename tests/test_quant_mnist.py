"""mnist-8 (ONNX, float) compiled to int8 with a calibration set: top-1 as the float model.

Digit-like inputs in the model's normalization (pixels 0..255, 28x28) come from
scikit-learn's bundled 8x8 digits, upsampled x3, padded, and some shifted by a pixel or two.
"""

import numpy as np
import pytest

from tinyml.codegen import write_library
from tinyml.compiler import compile_model
from tinyml.harness.host import run_host
from tinyml.numerics import dequantize, quantize
from tinyml.ref import run as ref_run


def digits_28x28(count: int, offset: int, seed: int) -> np.ndarray:
    """[count, 1, 1, 28, 28] float32 digits, 0..255, from sklearn's 8x8 digits."""
    from sklearn.datasets import load_digits
    images = load_digits().images[offset:offset + count]          # 0..16
    big = np.kron(images, np.ones((3, 3)))                          # 24x24
    # a 3x3 box blur softens the blocks into strokes
    padded = np.pad(big, ((0, 0), (1, 1), (1, 1)))
    big = sum(padded[:, i:i + 24, j:j + 24] for i in range(3) for j in range(3)) / 9
    canvas = np.pad(big, ((0, 0), (2, 2), (2, 2)))
    rng = np.random.default_rng(seed)
    shifts = rng.integers(-2, 3, (count, 2))
    canvas = np.stack([np.roll(c, tuple(s), axis=(0, 1)) for c, s in zip(canvas, shifts)])
    return (np.clip(canvas * (255 / 16), 0, 255)[:, None, None]).astype(np.float32)


@pytest.fixture(scope="module")
def mnist(shared_models):
    import onnx
    from onnx import numpy_helper
    root = shared_models / "onnx" / "mnist-8"
    tests = []
    for i in range(3):
        d = root / f"test_data_set_{i}"
        tests.append(tuple(numpy_helper.to_array(onnx.load_tensor(str(d / f"{k}_0.pb")))
                           for k in ("input", "output")))
    return root / "model.onnx", tests


def _float_top1(model_path, xs: np.ndarray) -> np.ndarray:
    import onnxruntime as ort
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.array([sess.run(None, {name: x})[0].argmax() for x in xs])


def test_mnist8_int8_top1_matches_float(mnist, tmp_path):
    model_path, tests = mnist
    calib = digits_28x28(100, offset=0, seed=0)
    compiled = compile_model(model_path, dtype="int8", calib=calib)
    graph = compiled.graph
    x_t, y_t = graph.tensor(graph.inputs[0]), graph.tensor(graph.outputs[0])
    assert x_t.dtype == y_t.dtype == "int8"
    write_library(compiled.code, tmp_path / "lib")

    further = digits_28x28(200, offset=300, seed=1)
    inputs = np.concatenate([np.stack([x for x, _ in tests]), further])
    xq = quantize(inputs.reshape(len(inputs), *x_t.shape), x_t.quant.scale[0],
                  x_t.quant.zero_point[0])
    yq = run_host(tmp_path / "lib", [xq])[0]
    # the C library is the reference executor, bit for bit
    np.testing.assert_array_equal(yq[:3], np.stack([ref_run(graph, [x])[0] for x in xq[:3]]))
    top1 = dequantize(yq, y_t.quant.scale[0], y_t.quant.zero_point[0]).reshape(len(xq), -1)
    top1 = top1.argmax(axis=1)

    for i, (_, want) in enumerate(tests):
        assert top1[i] == want.argmax(), f"test_data_set_{i}"
    float_top1 = _float_top1(model_path, further)
    agree = float(np.mean(top1[3:] == float_top1))
    assert agree >= 0.95, f"int8 top-1 agrees with float on {agree:.1%} of 200 digits"
