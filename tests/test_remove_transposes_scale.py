"""The transpose pass is linear in the graph size: a 2,000-op chain after a Transpose (which
took over 20 s when every push rescanned the graph) is rewritten in well under a second."""

import time

import numpy as np

from helpers import run_ref
from tinyml.ir import Graph, Node, Tensor
from tinyml.ops.binary import BinaryAttrs
from tinyml.ops.transpose import TransposeAttrs
from tinyml.passes import remove_transposes, run_pipeline


def _chain(length: int) -> Graph:
    """x (NHWC) -> Transpose to NCHW -> Relu, Add(constant [C,1,1]) alternating -> output."""
    tensors = [Tensor("x", (1, 4, 4, 3), "float32"), Tensor("t", (1, 3, 4, 4), "float32"),
               Tensor("c", (3, 1, 1), "float32", data=np.arange(3.0).reshape(3, 1, 1))]
    nodes = [Node("t", "Transpose", ("x",), ("t",), TransposeAttrs((0, 3, 1, 2)))]
    prev = "t"
    for i in range(length):
        tensors.append(Tensor(f"v{i}", (1, 3, 4, 4), "float32"))
        if i % 2:
            nodes.append(Node(f"v{i}", "Add", (prev, "c"), (f"v{i}",), BinaryAttrs()))
        else:
            nodes.append(Node(f"v{i}", "Relu", (prev,), (f"v{i}",)))
        prev = f"v{i}"
    return Graph.build("chain", nodes, tensors, ["x"], [prev])


def _seconds(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def test_transpose_sinks_to_the_end_of_a_2000_op_chain_quickly():
    graph = _chain(2000)
    start = time.perf_counter()
    after = remove_transposes(graph)
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, f"remove_transposes took {elapsed:.1f} s on 2,000 ops"
    ops = [n.op for n in after.nodes]
    assert ops[-1] == "Transpose" and ops.count("Transpose") == 1 and len(ops) == 2001
    assert after.nodes[0].inputs == ("x",)
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4, 3)).astype(np.float32)
    small_before, small_after = _chain(40), remove_transposes(_chain(40))
    np.testing.assert_allclose(run_ref(small_after, [x])[0], run_ref(small_before, [x])[0],
                               rtol=1e-6)


def test_pass_time_grows_linearly():
    """Ten times the ops costs well under a hundred times the time (a quadratic pass's ratio)."""
    remove_transposes(_chain(50))   # warm up imports and caches
    small = min(_seconds(remove_transposes, _chain(300)) for _ in range(3))
    large = min(_seconds(remove_transposes, _chain(3000)) for _ in range(2))
    assert large < 30 * small + 0.5, f"300 ops {small:.3f} s, 3,000 ops {large:.3f} s"


def test_whole_pipeline_on_the_chain_is_quick():
    elapsed = _seconds(run_pipeline, _chain(2000))
    assert elapsed < 10.0, f"the pass pipeline took {elapsed:.1f} s on 2,000 ops"
