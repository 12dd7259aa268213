"""Writes the bundled example: a small MLP trained on scikit-learn's digits, as ONNX.

    python examples/make_digits_mlp.py      # -> examples/digits_mlp.onnx, digits_calib.npz, digits_test.npz

Deterministic (fixed seeds); needs scikit-learn (`pip install tinyml[test]`).
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

HERE = Path(__file__).parent


def main() -> None:
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=0.3,
                                                        random_state=0)
    mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=400, random_state=0)
    mlp.fit(x_train, y_train)
    print(f"float test accuracy {mlp.score(x_test, y_test):.3f}")

    w1, w2 = (w.T.astype(np.float32) for w in mlp.coefs_)
    b1, b2 = (b.astype(np.float32) for b in mlp.intercepts_)
    inits = [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))]
    nodes = [
        helper.make_node("Gemm", ["pixels", "w1", "b1"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["h_relu"]),
        helper.make_node("Gemm", ["h_relu", "w2", "b2"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "digits_mlp",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="tinyml-example")
    onnx.checker.check_model(model)
    onnx.save(model, HERE / "digits_mlp.onnx")
    np.savez_compressed(HERE / "digits_calib.npz", x=x_train[:200].reshape(-1, 1, 64))
    np.savez_compressed(HERE / "digits_test.npz", x=x_test.reshape(-1, 1, 64), y=y_test)


if __name__ == "__main__":
    main()
