"""Ternary (1.58-bit) quantization-aware training of a small CNN on scikit-learn's digits.

    python examples/qat_digits.py [--out build/qat_digits] [--epochs 20] [--scale median]

Trains a float CNN, clones it with ternary middle layers (tinyml.qat.ternary_model; the first
conv and the last dense stay float, for int8), fine-tunes that, and exports it to plain Keras
layers. Writes into --out: float.keras, ternary.keras (the export), calib.npz ('x': 200
training images) and test.npz ('x', 'y'); prints both test accuracies. Deterministic (fixed
seeds, one thread); needs the [tf] extra and scikit-learn.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402  (after the logging setting above)
import tensorflow as tf  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from tinyml.qat import SCALES, export, ternary_model  # noqa: E402

SEED = 0
CALIBRATION_IMAGES = 200
BATCH_SIZE = 32


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x_train, y_train, x_test, y_test: images (N, 8, 8, 1) float32 in [0, 1], labels int."""
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=0, stratify=digits.target)
    return x_train, y_train, x_test, y_test


def build_cnn() -> keras.Model:
    """The float CNN: ~2% of its weights are in conv1 and logits, the layers that stay int8."""
    return keras.Sequential([
        keras.Input((8, 8, 1), name="image"),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool2"),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv3"),
        keras.layers.MaxPooling2D(2, name="pool3"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(64, activation="relu", name="fc"),
        keras.layers.Dense(10, name="logits"),
    ], name="digits_cnn")


def _fit(model: keras.Model, x: np.ndarray, y: np.ndarray, epochs: int,
         learning_rate: float) -> None:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=epochs, shuffle=True, verbose=0)


def train_float(x: np.ndarray, y: np.ndarray, epochs: int = 20, seed: int = SEED) -> keras.Model:
    """The float twin, trained from a seeded initialisation."""
    keras.utils.set_random_seed(seed)
    model = build_cnn()
    _fit(model, x, y, epochs, learning_rate=2e-3)
    return model


def train_ternary(float_model: keras.Model, x: np.ndarray, y: np.ndarray, epochs: int = 20,
                  seed: int = SEED, scale: str = "absmean") -> keras.Model:
    """The QAT model: ternary middle layers starting from float_model's weights, fine-tuned."""
    keras.utils.set_random_seed(seed)
    model = ternary_model(float_model, scale=scale)
    _fit(model, x, y, epochs, learning_rate=1e-3)
    return model


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(model.predict(x, verbose=0), axis=-1) == y))


def weight_counts(model: keras.Model) -> dict[str, int]:
    """Kernel weights per layer (biases left out)."""
    return {layer.name: int(np.prod(layer.kernel.shape)) for layer in model.layers
            if hasattr(layer, "kernel")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/qat_digits"), help="output folder")
    parser.add_argument("--epochs", type=int, default=20,
                        help="epochs of float training, and again of ternary fine-tuning")
    parser.add_argument("--scale", choices=SCALES, default="absmean",
                        help="per-channel ternary scale: mean or median of |w|")
    args = parser.parse_args(argv)

    # One thread: the model is tiny, and the runs are then repeatable bit for bit.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    x_train, y_train, x_test, y_test = digits_split()
    float_model = train_float(x_train, y_train, args.epochs)
    exported = export(train_ternary(float_model, x_train, y_train, args.epochs, scale=args.scale))

    args.out.mkdir(parents=True, exist_ok=True)
    float_model.save(args.out / "float.keras")
    exported.save(args.out / "ternary.keras")
    np.savez(args.out / "calib.npz", x=x_train[:CALIBRATION_IMAGES])
    np.savez(args.out / "test.npz", x=x_test, y=y_test)

    print("kernel weights:", ", ".join(f"{k} {v}" for k, v in weight_counts(float_model).items()))
    print(f"float test accuracy   {accuracy(float_model, x_test, y_test):.4f}")
    print(f"ternary test accuracy {accuracy(exported, x_test, y_test):.4f}")
    print(f"wrote {args.out}/float.keras, ternary.keras, calib.npz, test.npz")


if __name__ == "__main__":
    main()
