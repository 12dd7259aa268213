"""On-device training (--train): what is trained, the gradients against TensorFlow's
autodiff, and the generated `<name>_train_step` against the numpy reference on the host
(tinyml/train/reference.py) for an MLP, a CNN with a depthwise layer and a residual block."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from conv_cases import RELU
from net_builder import Net
from tinyml.codegen import lower_model, write_library
from tinyml.errors import UnsupportedError, UsageError
from tinyml.harness.host import run_host, train_host
from tinyml.ref.executor import run_trace
from tinyml.targets.cores import get_core
from tinyml.train import grads
from tinyml.train import reference as ref
from tinyml.train.plan import build_plan
from tinyml.train.spec import TrainSpec, parse

FLOAT_RTOL = 1e-5


def mlp():
    net = Net((1, 16), seed=1)
    x = net.fc(net.input, 12, act=RELU)
    return net.graph(net.fc(x, 5))


def cnn():
    net = Net((1, 8, 8, 3), seed=2)
    x = net.conv(net.input, 8)
    x = net.dw(x, strides=(2, 2))
    x = net.conv(x, 12, kernel=(1, 1))
    x = net.pool(x, op="AveragePool2D", kernel=(2, 2), strides=(2, 2))
    x = net.reshape(x, (1, 2 * 2 * 12))
    return net.graph(net.fc(x, 4))


def residual():
    net = Net((1, 6, 6, 4), seed=3)
    a = net.conv(net.input, 4)
    b = net.conv(a, 4)
    c = net.add(a, b, act=RELU)
    d = net.conv(c, 6, strides=(2, 2), padding="valid")
    return net.graph(net.fc(net.reshape(d, (1, 2 * 2 * 6)), 3))


NETS = {"mlp": mlp, "cnn": cnn, "residual": residual}


# -- what to train ---------------------------------------------------------------------------

def test_spec_parsing(tmp_path):
    assert parse("full") == TrainSpec("full")
    assert parse("last:2") == TrainSpec("last", last=2)
    assert parse("sparse").auto
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"biases": 2, "weights": {"n3": 0.5}, "qas": False}))
    spec = parse(f"sparse:{config}")
    assert (spec.biases, spec.weights, spec.qas) == (2, (("n3", 0.5),), False)
    for bad in ("last:0", "last:x", "half", "full:1"):
        with pytest.raises(UsageError):
            parse(bad)
    for text in ("[1]", '{"biases": -1}', '{"weights": {"n": 1.5}}', '{}', '{"lr": 1}', "{"):
        config.write_text(text)
        with pytest.raises(UsageError, match="sparse"):
            parse(f"sparse:{config}")


def test_plan_of_a_sparse_update():
    """Biases of the last 2 layers and half the channels of the 1x1 conv: gradients start at
    the 1x1 conv (nothing before it is differentiated), and the backward keeps only the
    conv's input and the int8 outputs it masks by."""
    g = cnn()
    names = [n.name for n in g.nodes]
    spec = TrainSpec("sparse", biases=2, weights=((names[2], 0.5),))
    plan = build_plan(g, spec)
    roles = {(p.node, p.role): p.channels for p in plan.params}
    assert roles == {(names[2], "weights"): 6, (names[2], "bias"): 12, (names[5], "bias"): 4}
    assert [s.node for s in plan.steps] == names[5:1:-1]       # fc, reshape, pool, conv
    assert plan.steps[-1].grad_inputs == ()                     # nothing before the conv
    node2 = g.nodes[2]
    assert set(plan.saved) == {node2.inputs[0], node2.outputs[0], g.nodes[3].outputs[0],
                               g.outputs[0]}


def test_plan_refuses_what_it_cannot_train():
    g = cnn()
    with pytest.raises(UsageError, match="no layer with weights is named"):
        build_plan(g, TrainSpec("sparse", weights=(("nope", 1.0),)))
    net = Net((1, 4, 4, 2), seed=0)
    x = net.pool(net.conv(net.input, 4), op="MaxPool2D")
    g = net.graph(net.fc(net.reshape(x, (1, 16)), 2))
    with pytest.raises(UnsupportedError, match="cannot pass a gradient") as info:
        build_plan(g, TrainSpec("full"))
    assert info.value.op == "MaxPool2D"
    build_plan(g, TrainSpec("last", last=1))   # the last layer alone needs no MaxPool gradient


# -- gradients against TensorFlow ------------------------------------------------------------

def _tf_check(node, graph, rng, fn, tf_forward):
    tf = pytest.importorskip("tensorflow")
    x_t, w_t = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1])
    x_q = rng.integers(-128, 128, x_t.shape).astype(np.int8)
    dy = rng.standard_normal(graph.tensor(node.outputs[0]).shape)
    x = tf.Variable(grads.real(x_q, x_t))
    w_real = w_t.data.astype(np.float64) * np.asarray(w_t.quant.scale).reshape(
        [-1 if i == w_t.quant.axis else 1 for i in range(w_t.data.ndim)])
    w = tf.Variable(w_real)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf_forward(tf, x, w) * dy)
    want_dx, want_dw = tape.gradient(loss, [x, w])
    dx, dw, db = fn(node, graph, dy, x_q, w_t.data)
    np.testing.assert_allclose(dx, want_dx.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dw, want_dw.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(db, dy.sum(axis=tuple(range(dy.ndim - 1))), rtol=1e-12)


def _padded(tf, x, pads):
    top, left, bottom, right = pads
    return tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]])


@pytest.mark.tf
@pytest.mark.parametrize("strides,padding,dilations", [((1, 1), "same", (1, 1)),
                                                        ((2, 2), "same", (1, 1)),
                                                        ((2, 1), "valid", (1, 1)),
                                                        ((1, 1), "same", (2, 2))])
def test_conv2d_gradients_match_tensorflow(strides, padding, dilations):
    net = Net((2, 7, 6, 3), seed=4)
    net.conv(net.input, 5, kernel=(3, 2), strides=strides, padding=padding, dilations=dilations)
    g = net.graph(f"t{len(net.tensors) - 1}")
    node = g.nodes[0]
    a = node.attrs

    def forward(tf, x, w):
        kernel = tf.transpose(w, (1, 2, 3, 0))
        if a.dilations != (1, 1):   # TensorFlow's CPU conv2d has no dilated gradient
            return tf.nn.atrous_conv2d(_padded(tf, x, a.pads), kernel, a.dilations[0], "VALID")
        return tf.nn.conv2d(_padded(tf, x, a.pads), kernel, strides=[1, *a.strides, 1],
                            padding="VALID")
    _tf_check(node, g, np.random.default_rng(0), grads.conv2d, forward)


@pytest.mark.tf
@pytest.mark.parametrize("strides", [(1, 1), (2, 2)])
def test_depthwise_gradients_match_tensorflow(strides):
    net = Net((1, 7, 7, 4), seed=5)
    net.dw(net.input, strides=strides)
    g = net.graph(f"t{len(net.tensors) - 1}")
    node = g.nodes[0]
    a = node.attrs
    kh, kw = g.tensor(node.inputs[1]).shape[1:3]

    def forward(tf, x, w):
        return tf.nn.depthwise_conv2d(_padded(tf, x, a.pads), tf.reshape(w, (kh, kw, 4, -1)),
                                      strides=[1, *a.strides, 1], padding="VALID")
    _tf_check(node, g, np.random.default_rng(1), grads.depthwise_conv2d, forward)


@pytest.mark.tf
def test_fully_connected_and_pool_gradients_match_tensorflow():
    tf = pytest.importorskip("tensorflow")
    net = Net((3, 10), seed=6)
    net.fc(net.input, 7)
    g = net.graph(f"t{len(net.tensors) - 1}")
    _tf_check(g.nodes[0], g, np.random.default_rng(2), grads.fully_connected,
              lambda tf, x, w: tf.matmul(x, w, transpose_b=True))
    net = Net((1, 5, 5, 3), seed=7)
    net.pool(net.input, op="AveragePool2D", kernel=(3, 3), strides=(2, 2), padding="same")
    g = net.graph(f"t{len(net.tensors) - 1}")
    node = g.nodes[0]
    dy = np.random.default_rng(3).standard_normal(g.tensor(node.outputs[0]).shape)
    x = tf.Variable(np.random.default_rng(4).standard_normal((1, 5, 5, 3)))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.nn.avg_pool2d(x, 3, 2, "SAME") * dy)
    np.testing.assert_allclose(grads.average_pool(node, g, dy), tape.gradient(loss, x).numpy(),
                               rtol=1e-12)


def test_loss_gradient_is_softmax_minus_one_hot():
    t = Net((1, 4), seed=0).tensors["t0"]
    logits = np.array([[10, -3, 40, 7]], np.int8)
    loss, g = grads.softmax_xent(logits, t, 2, 0.5)
    z = 0.5 * grads.real(logits, t).reshape(-1)
    p = np.exp(z) / np.exp(z).sum()
    assert math.isclose(loss, -math.log(p[2]), rel_tol=1e-12)
    np.testing.assert_allclose(g.reshape(-1), 0.5 * (p - np.eye(4)[2]), rtol=1e-12)


# -- the generated step against the reference --------------------------------------------------

def _compile(graph, spec, folder, name="net"):
    plan = build_plan(graph, spec)
    code = lower_model(plan.graph, name, train=plan)
    write_library(code, folder)
    return plan, code


def read_state(code, raw: bytes) -> dict:
    """The state buffer's bytes -> tensor -> (integer copy, master), as tinyml lays it out."""
    out = {}
    for t in code.train.state:
        dtype = np.int8 if t.ctype == "int8_t" else np.int32
        out[t.tensor] = (np.frombuffer(raw, dtype, t.nbytes // np.dtype(dtype).itemsize, t.offset),
                         np.frombuffer(raw, np.float32, t.master_count, t.master))
    return out


def assert_state_matches(code, raw: bytes, state: dict) -> None:
    for name, (ints, master) in read_state(code, raw).items():
        want = state[name]
        np.testing.assert_array_equal(ints, want.ints.reshape(-1), err_msg=name)
        scale = max(float(np.max(np.abs(want.master))), 1.0)
        assert np.max(np.abs(master - want.master.reshape(-1))) <= FLOAT_RTOL * scale, name


def reference_steps(plan, xs, labels, lr):
    state, losses = ref.init_state(plan), []
    for x, label in zip(xs, labels):
        step = ref.train_step(plan, state, x, label, lr)
        state = step.state
        losses.append(step.loss)
    return state, np.array(losses)


@pytest.mark.parametrize("net", list(NETS))
@pytest.mark.parametrize("mode", ["full", "last"])
def test_train_step_matches_reference_on_host(net, mode, tmp_path):
    """Three steps from train_init's state under ASan/UBSan: integer copies bit-exact, float
    masters and losses within 1e-5, every trained tensor changed; then inference on the
    trained state equals the reference's forward of it."""
    g = NETS[net]()
    plan, code = _compile(g, TrainSpec(mode, last=2), tmp_path / "lib")
    rng = np.random.default_rng(0)
    xs = rng.integers(-128, 128, (3, *g.tensor(g.inputs[0]).shape)).astype(np.int8)
    labels = rng.integers(0, plan.graph.tensor(plan.logits).size, 3)
    losses, raw = train_host(tmp_path / "lib", xs, labels, 0.01, sanitize=True)
    state, want = reference_steps(plan, xs, labels, 0.01)
    np.testing.assert_allclose(losses, want, rtol=FLOAT_RTOL, atol=FLOAT_RTOL)
    assert_state_matches(code, raw, state)
    weights = [p.tensor for p in plan.params if p.role == "weights"]
    assert all(not np.array_equal(state[t].ints, plan.graph.tensor(t).data) for t in weights)
    got = run_host(tmp_path / "lib", [xs], sanitize=True, state=raw)[0]
    trained = ref.graph_of(plan, state)
    np.testing.assert_array_equal(got, np.stack([run_trace(trained, [x])[g.outputs[0]]
                                                 for x in xs]))


def test_qas_factors_are_inverse_scales():
    """With QAS an update moves a weight by lr * g / s_w in its integer units (a bias by
    lr * g / (s_x s_w)): float SGD in real units; without, by lr * g * s: s^2 times less."""
    g = mlp()
    node = g.nodes[-1]
    s_w = np.asarray(g.tensor(node.inputs[1]).quant.scale, np.float64)
    s_x = g.tensor(node.inputs[0]).quant.scale[0]
    for qas in (True, False):
        plan = build_plan(g, TrainSpec("last", last=1, qas=qas))
        for p in plan.params:
            s = s_w * (s_x if p.role == "bias" else 1.0)
            np.testing.assert_allclose(ref.factors(plan, p), 1 / s if qas else s, rtol=1e-6)


def test_label_out_of_range_is_refused(tmp_path):
    g = mlp()
    _compile(g, TrainSpec("last", last=1), tmp_path / "lib")
    x = np.zeros((1, *g.tensor(g.inputs[0]).shape), np.int8)
    with pytest.raises(Exception, match="status 1"):
        train_host(tmp_path / "lib", x, [5], 0.01)


@pytest.mark.emulator
@pytest.mark.slow
@pytest.mark.parametrize("net", list(NETS))
def test_train_step_matches_reference_in_qemu(net, tmp_path):
    """The same three steps on the emulated Cortex-M4 (mps2-an386) over the serial protocol's
    TRAIN command: losses, integer copies and masters as the reference's; inference then
    reads the trained state."""
    from tinyml.harness.firmware import build_firmware
    from tinyml.harness.qemu import QemuSession
    g = NETS[net]()
    plan = build_plan(g, TrainSpec("full"))
    code = lower_model(plan.graph, "net", get_core("cortex-m4"), train=plan)
    write_library(code, tmp_path / "lib", {"target": "cortex-m4"})
    rng = np.random.default_rng(0)
    xs = rng.integers(-128, 128, (3, *g.tensor(g.inputs[0]).shape)).astype(np.int8)
    labels = rng.integers(0, plan.graph.tensor(plan.logits).size, 3)
    state, want = reference_steps(plan, xs, labels, 0.01)
    with QemuSession(build_firmware(tmp_path / "lib", "mps2-an386"), timeout=5.0) as session:
        device = session.device
        assert device.train_info() == (code.train.state_size, plan.graph.tensor(plan.logits).size)
        losses = []
        for x, label in zip(xs, labels):
            device.load_input(0, x.tobytes())
            r = device.train(int(label), 0.01)
            assert r.status == 0 and r.count > 0
            losses.append(r.loss)
        assert_state_matches(code, device.read_state(code.train.state_size), state)
        out, _ = device.run([xs[0]])
    np.testing.assert_allclose(losses, want, rtol=FLOAT_RTOL, atol=FLOAT_RTOL)
    trained = ref.graph_of(plan, state)
    np.testing.assert_array_equal(out[0].reshape(-1), run_trace(trained, [xs[0]])[g.outputs[0]].reshape(-1))


SRAM = 256 * 1024


@pytest.mark.emulator
@pytest.mark.slow
def test_vww_sparse_update_trains_within_256_kb(shared_models, tmp_path):
    """MobileNetV1 0.25 at 96x96 (vww_96_int8) with `--train sparse` (the subset chosen
    under 256 KB), in a firmware linked with 256 KB of SRAM: static data (train arena,
    state, input and output buffers) and the measured stack fit, and the step equals the
    reference's."""
    from tinyml.codegen.report import build_report
    from tinyml.compiler import compile_model, write
    from tinyml.harness.firmware import build_firmware
    from tinyml.harness.qemu import QemuSession
    from tinyml.targets.budget import check_train_sram
    model = shared_models / "mlperf_tiny/vww/vww_96_int8.tflite"
    compiled = compile_model(model, target="cortex-m4", train=parse("sparse"), train_sram=SRAM)
    code = compiled.code
    report = build_report(code, target="cortex-m4")
    ram = check_train_sram(report, SRAM, str(model))
    assert {u["role"] for u in report["train"]["updated"]} == {"weights", "bias"}
    write(compiled, tmp_path / "lib", "cortex-m4", SRAM)
    fw = build_firmware(tmp_path / "lib", "mps2-an386", sram=SRAM)   # fails to link above
    plan = code.train.plan
    x = np.random.default_rng(0).integers(-128, 128, compiled.graph.tensor(
        compiled.graph.inputs[0]).shape).astype(np.int8)
    step = ref.train_step(plan, ref.init_state(plan), x, 1, 0.01)
    with QemuSession(fw, timeout=60.0) as session:
        session.device.load_input(0, x.tobytes())
        r = session.device.train(1, 0.01)
        raw = session.device.read_state(code.train.state_size)
    assert r.status == 0
    assert r.loss == pytest.approx(step.loss, rel=FLOAT_RTOL)
    assert_state_matches(code, raw, step.state)
    static = code.train.arena_size + code.train.state_size + sum(
        compiled.graph.tensor(t).nbytes for t in (*compiled.graph.inputs, *compiled.graph.outputs))
    assert static + r.peak_stack <= SRAM and ram.total <= SRAM


# -- choosing the subset --------------------------------------------------------------------

def test_sparse_selection_fits_its_budget_and_grows_with_it():
    """The proxy's greedy: within each budget, the last layer's bias first, more trained as
    the budget grows, and nothing when not even a bias fits."""
    from tinyml.train import select
    g = cnn()
    arena = lower_model(g, "net").plan.size
    contributions = select.proxy_contributions(g)
    chosen = {}
    for budget in (4096, 8192, 65536):
        spec = select.choose(g, budget, arena, contributions)
        assert select.memory_bytes(g, spec, arena) <= budget
        chosen[budget] = spec
    last = g.nodes[-1].name
    assert last in chosen[4096].bias_layers
    sizes = [sum(f for _, f in chosen[b].weights) + len(chosen[b].bias_layers) for b in chosen]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    with pytest.raises(UsageError, match="nothing fits"):
        select.choose(g, 64, arena, contributions)


def test_measured_selection_prefers_what_lowers_the_loss():
    """With labelled samples, each candidate's contribution is the loss it removes when
    fine-tuned alone: positive for the classifier, and the choice follows it."""
    from tinyml.train import select
    g = mlp()
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 128, (16, *g.tensor(g.inputs[0]).shape)).astype(np.int8)
    y = rng.integers(0, 5, 16)
    measured = select.measured_contributions(g, x, y, 0.01)
    assert measured[(g.nodes[-1].name, "weights")] > 0
    spec = select.choose(g, 1 << 20, lower_model(g, "net").plan.size, measured)
    assert (g.nodes[-1].name, 1.0) in spec.weights


def test_cli_trains_a_chosen_subset_and_refuses_bad_data(tmp_path):
    from test_cli import tinyml
    examples = __import__("pathlib").Path(__file__).resolve().parents[1] / "examples"
    data = np.load(examples / "digits_test.npz")
    np.savez(tmp_path / "new.npz", x=1.0 - data["x"][:40], y=data["y"][:40])
    out = tmp_path / "lib"
    proc = tinyml("compile", examples / "digits_mlp.onnx", "--dtype", "int8", "--calib",
                  examples / "digits_calib.npz", "--train", "sparse", "--train-data",
                  tmp_path / "new.npz", "--train-sram", "12K", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "training (sparse, QAS on)" in proc.stdout and "fits --train-sram 12,288" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["train"]["updated"] and report["train"]["peak_train_sram_bytes"] < 12 * 1024
    np.savez(tmp_path / "bad.npz", x=data["x"][:4], y=np.array([0, 1, 2, 99]))
    proc = tinyml("compile", examples / "digits_mlp.onnx", "--dtype", "int8", "--calib",
                  examples / "digits_calib.npz", "--train", "sparse", "--train-data",
                  tmp_path / "bad.npz", "-o", tmp_path / "bad")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "labels y" in proc.stderr
    assert not (tmp_path / "bad").exists()
    proc = tinyml("compile", examples / "digits_mlp.onnx", "--dtype", "int8", "--calib",
                  examples / "digits_calib.npz", "--train", "full", "--train-sram", "2K",
                  "-o", tmp_path / "small")
    assert proc.returncode == 1 and "does not fit --train-sram 2 KB" in proc.stderr
    assert not (tmp_path / "small").exists()
    proc = tinyml("train", examples / "..", "--dataset", tmp_path / "new.npz", "--board",
                  "mps2-an386")
    assert proc.returncode != 0 and proc.stderr.count("\n") == 1


def test_train_structs_are_filled_field_for_field():
    """Every tm_train_window and tm_train_span the lowering emits names exactly the fields of
    the C structs in tm_train.h: a forgotten field cannot silently be 0."""
    from test_kernel_params import c_structs
    from tinyml.resources import data_dir
    structs = c_structs((data_dir("codegen") / "kernels" / "tm_train.h").read_text())
    seen = set()
    for make in NETS.values():
        g = make()
        plan = build_plan(g, TrainSpec("full"))
        for _, ctype, fields in lower_model(plan.graph, "net", train=plan).train.structs:
            assert [f for f, _ in fields] == structs[ctype], ctype
            seen.add(ctype)
    assert seen == {"tm_train_window", "tm_train_span"}


@pytest.mark.emulator
def test_train_with_two_emulators_measures_what_one_does(tmp_path):
    """`tinyml train --jobs 2`: SGD on the first emulator, the trained state written into
    the second (WRITE_STATE), accuracy measured on both: the figures of --jobs 1."""
    from pathlib import Path
    from tinyml.compiler import compile_model, write
    from tinyml.harness.train import train
    examples = Path(__file__).resolve().parents[1] / "examples"
    data = np.load(examples / "digits_test.npz")
    np.savez(tmp_path / "inv.npz", x=1.0 - data["x"][:120], y=data["y"][:120])
    compiled = compile_model(examples / "digits_mlp.onnx", target="cortex-m4", dtype="int8",
                             calib=np.load(examples / "digits_calib.npz")["x"],
                             train=TrainSpec("last", last=1))
    write(compiled, tmp_path / "lib", "cortex-m4")
    runs = {jobs: train(tmp_path / "lib", tmp_path / "inv.npz", board="mps2-an386", lr=0.02,
                        jobs=jobs) for jobs in (1, 2)}
    assert runs[2].accuracy_after > runs[2].accuracy_before
    assert (runs[1].accuracy_before, runs[1].accuracy_after, runs[1].epoch_losses, runs[1].state) \
        == (runs[2].accuracy_before, runs[2].accuracy_after, runs[2].epoch_losses, runs[2].state)


def test_a_diverged_step_saturates_as_the_reference(tmp_path):
    """lr = inf: masters go to +-inf and, where the gradient is 0, to NaN; the integer copies
    saturate (NaN to the low bound) in C as in the reference, with no undefined conversion
    (UBSan)."""
    g = mlp()
    plan, code = _compile(g, TrainSpec("last", last=1), tmp_path / "lib")
    x = np.random.default_rng(3).integers(-128, 128, (1, *g.tensor(g.inputs[0]).shape)).astype(np.int8)
    _, raw = train_host(tmp_path / "lib", x, [2], float("inf"), sanitize=True)
    state = ref.train_step(plan, ref.init_state(plan), x[0], 2, float("inf")).state
    for name, (ints, master) in read_state(code, raw).items():
        np.testing.assert_array_equal(ints, state[name].ints.reshape(-1), err_msg=name)
    weights = next(p.tensor for p in plan.params if p.role == "weights")
    assert np.isnan(state[weights].master).any() and (state[weights].ints == -127).any()


def test_dilated_average_pools_are_refused():
    net = Net((1, 6, 6, 2), seed=0)
    x = net.pool(net.conv(net.input, 4), op="AveragePool2D", kernel=(2, 2), strides=(1, 1))
    g = net.graph(net.fc(net.reshape(x, (1, 100)), 2))
    pool = next(n for n in g.nodes if n.op == "AveragePool2D")
    dilated = g.replace(nodes=[n.with_(attrs=replace(n.attrs, dilations=(2, 2))) if n is pool
                               else n for n in g.nodes])
    with pytest.raises(UnsupportedError, match="undilated") as info:
        build_plan(dilated, TrainSpec("full"))
    assert info.value.node == pool.name
