"""On-device adaptation with sparse update: a digits CNN learns inverted digits on an emulated
Cortex-M4, and float fine-tuning of the same parameters on the host is the yardstick.

    python examples/adapt_digits.py [--out build/adapt_digits] [--epochs 2] [--lr 0.02]
        [--no-qas] [--board mps2-an386]

1. Trains a float CNN on scikit-learn's digits (the source domain).
2. The target domain is the same digits inverted (1 - x): the CNN does poorly there.
3. Compiles it int8 (calibrated on source and target images, no labels) with
   `--train sparse:CONFIG`: the biases of the last 3 layers and the weights of the dense one.
4. `tinyml train` on the board (QEMU): one pass per epoch over the target training images, in
   a seeded order; accuracy on the target test images before and after.
5. Float fine-tuning of exactly those parameters on the host: plain SGD, one sample a step,
   the same learning rate, epochs and order; its accuracy gain is what the device's is
   measured against.

Writes into --out: cnn.keras, the compiled folder, the datasets, train.json (`tinyml train`'s
results) and results.json (both gains); prints them. Deterministic (fixed seeds, one thread);
needs the [tf] extra and scikit-learn.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402  (after the logging setting above)
import tensorflow as tf  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

SEED = 0
TRAINED_BIASES = 3


def digits_split():
    """x_train, y_train, x_test, y_test: images (N, 8, 8, 1) float32 in [0, 1], labels int."""
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.3, random_state=0, stratify=digits.target)
    return x_train, y_train, x_test, y_test


def shifted(x: np.ndarray) -> np.ndarray:
    """The target domain: inverted images."""
    return (1.0 - x).astype(np.float32)


def source_cnn(x: np.ndarray, y: np.ndarray, epochs: int = 15) -> keras.Model:
    keras.utils.set_random_seed(SEED)
    model = keras.Sequential([
        keras.Input((8, 8, 1), name="image"),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
        keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="conv2"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(10, name="logits"),
    ], name="digits_cnn")
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=32, epochs=epochs, shuffle=True, verbose=0)
    return model


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(model.predict(x, verbose=0), axis=-1) == y))


def orders(count: int, epochs: int, seed: int = 0):
    """The sample order of each epoch, as `tinyml train` draws it."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(count) for _ in range(epochs)]


def float_fine_tune(model: keras.Model, x: np.ndarray, y: np.ndarray, epochs: int,
                    lr: float) -> keras.Model:
    """Plain SGD, one sample a step, on what the device trains: the dense layer's kernel and
    the biases of the last TRAINED_BIASES layers."""
    tuned = keras.models.clone_model(model)
    tuned.set_weights(model.get_weights())
    layers = [layer for layer in tuned.layers if hasattr(layer, "kernel")]
    variables = [layers[-1].kernel] + [layer.bias for layer in layers[-TRAINED_BIASES:]]
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    for order in orders(len(y), epochs):
        for n in order:
            with tf.GradientTape() as tape:
                loss = loss_fn(y[n:n + 1], tuned(x[n:n + 1], training=True))
            for v, g in zip(variables, tape.gradient(loss, variables)):
                v.assign_sub(lr * g)
    return tuned


def tinyml(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "tinyml", *args], check=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/adapt_digits"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--no-qas", action="store_true",
                        help="train without quantization-aware scaling (for comparison)")
    parser.add_argument("--board", default="mps2-an386")
    args = parser.parse_args(argv)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    x_train, y_train, x_test, y_test = digits_split()
    model = source_cnn(x_train, y_train)
    model.save(out / "cnn.keras")
    t_train, t_test = shifted(x_train), shifted(x_test)
    np.savez(out / "calib.npz", x=np.concatenate([x_train[:100], t_train[:100]]))
    np.savez(out / "target_train.npz", x=t_train, y=y_train)
    np.savez(out / "target_test.npz", x=t_test, y=y_test)

    from tinyml.compiler import compile_model
    from tinyml.train.plan import trainable_nodes
    graph = compile_model(out / "cnn.keras", dtype="int8", calib=np.load(out / "calib.npz")["x"]).graph
    dense = trainable_nodes(graph)[-1].name
    config = {"biases": TRAINED_BIASES, "weights": {dense: 1.0}, "qas": not args.no_qas}
    (out / "sparse.json").write_text(json.dumps(config, indent=1))
    lib = out / "cnn_tinyml"
    tinyml("compile", str(out / "cnn.keras"), "--target", "cortex-m4", "--dtype", "int8",
           "--calib", str(out / "calib.npz"), "--train", f"sparse:{out / 'sparse.json'}",
           "-o", str(lib))
    tinyml("train", str(lib), "--dataset", str(out / "target_train.npz"), "--eval",
           str(out / "target_test.npz"), "--board", args.board, "--epochs", str(args.epochs),
           "--lr", str(args.lr), "--json", str(out / "train.json"))
    device = json.loads((out / "train.json").read_text())

    before = accuracy(model, t_test, y_test)
    tuned = float_fine_tune(model, t_train, y_train, args.epochs, args.lr)
    after = accuracy(tuned, t_test, y_test)
    results = {
        "source_test_accuracy": accuracy(model, x_test, y_test),
        "float": {"before": before, "after": after, "gain": after - before},
        "device": {"before": device["accuracy_before"], "after": device["accuracy_after"],
                   "gain": device["accuracy_after"] - device["accuracy_before"]},
        "qas": not args.no_qas, "epochs": args.epochs, "lr": args.lr,
        "instructions_per_step": device["step_count"],
    }
    results["gain_ratio"] = results["device"]["gain"] / results["float"]["gain"]
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"source domain: float CNN test accuracy {results['source_test_accuracy']:.3f}")
    print(f"target domain (inverted), float fine-tuning on the host: {before:.3f} -> {after:.3f}")
    print(f"target domain, int8 sparse update on {args.board}: {results['device']['before']:.3f} "
          f"-> {results['device']['after']:.3f} (QAS {'on' if results['qas'] else 'off'})")
    print(f"device gain / float gain: {results['gain_ratio']:.2f}")


if __name__ == "__main__":
    main()
