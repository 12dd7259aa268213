"""tinyml/plan/schedule.py: the order of steps and the lifetimes it implies. A graph without
branches keeps its order; with branches the chosen order is a valid one whose peak is the
least over every valid order (checked by brute force on small random graphs) and never
above the graph's own order; the schedule's peak is the lower bound of the buffers it
implies; lowering emits layers in that order, with the same outputs."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from helpers import assert_c_matches_ref, random_inputs
from tinyml.codegen import lower_model
from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.plan.arena import lower_bound
from tinyml.plan.schedule import Memory, Schedule, Step, buffer_requests, order_nodes


def _random_dag(rng: random.Random, count: int) -> tuple[Graph, Memory]:
    """`count` nodes, each reading one or two earlier tensors (the input among them); the
    tensors no node reads are the outputs; sizes random."""
    tensors = [Tensor("x", (1, 4), "float32")]
    nodes, produced = [], ["x"]
    for i in range(count):
        reads = rng.sample(produced, min(len(produced), rng.choice((1, 1, 2))))
        out = f"t{i}"
        nodes.append(Node(f"n{i}", "Add" if len(reads) == 2 else "Relu", tuple(reads), (out,)))
        tensors.append(Tensor(out, (1, 4), "float32"))
        produced.append(out)
    read = {t for n in nodes for t in n.inputs}
    outputs = [t for t in produced[1:] if t not in read]
    graph = Graph.build("dag", nodes, tensors, ["x"], outputs)
    sizes = {t: rng.randint(1, 100) for t in produced[1:] if t not in outputs}
    scratch = {n.name: rng.choice((0, 0, rng.randint(1, 50))) for n in nodes}
    return graph, Memory({t: t for t in produced}, sizes, scratch)


def _peak(graph: Graph, memory: Memory, order, alignment: int = 1) -> int:
    schedule = Schedule(tuple(Step(n) for n in order), 0, False)
    return lower_bound(buffer_requests(schedule, graph, memory), alignment)


def _valid(graph: Graph, order) -> bool:
    position = {name: i for i, name in enumerate(order)}
    producers = graph.producers()
    return sorted(order) == sorted(n.name for n in graph.nodes) and all(
        position[producers[t].name] < position[n.name]
        for n in graph.nodes for t in n.inputs if t in producers)


def test_a_chain_keeps_its_order():
    graph, memory = _random_dag(random.Random(1), 1)
    nodes = [Node(f"c{i}", "Relu", (f"u{i - 1}" if i else "x",), (f"u{i}",)) for i in range(6)]
    tensors = [Tensor("x", (1, 4), "float32")] + [Tensor(f"u{i}", (1, 4), "float32") for i in range(6)]
    chain = Graph.build("chain", nodes, tensors, ["x"], ["u5"])
    memory = Memory({t.name: t.name for t in tensors}, {f"u{i}": 10 * (i + 1) for i in range(5)},
                    {"c2": 7})
    schedule = order_nodes(chain, memory)
    assert schedule.order == tuple(n.name for n in nodes) and schedule.exact
    assert schedule.peak == _peak(chain, memory, schedule.order) == 40 + 50


@pytest.mark.parametrize("seed", range(240))
def test_random_graphs_with_branches(seed):
    rng = random.Random(seed)
    graph, memory = _random_dag(rng, rng.randint(3, 7))
    schedule = order_nodes(graph, memory)
    assert _valid(graph, schedule.order)
    assert schedule.peak == _peak(graph, memory, schedule.order)
    assert schedule.peak <= _peak(graph, memory, [n.name for n in graph.nodes])
    best = min(_peak(graph, memory, order)
               for order in itertools.permutations([n.name for n in graph.nodes])
               if _valid(graph, order))
    assert schedule.exact and schedule.peak == best


def test_large_graphs_take_the_greedy_and_stay_valid():
    rng = random.Random(7)
    graph, memory = _random_dag(rng, 400)
    schedule = order_nodes(graph, memory)
    assert not schedule.exact and _valid(graph, schedule.order)
    assert schedule.peak == _peak(graph, memory, schedule.order)


def _two_branches() -> Graph:
    """x -> a1 (big) -> a2 (small), x -> b1 (big) -> b2 (small), a2 + b2: in graph order both
    big tensors are alive together; running one branch to its end first avoids that."""
    q = Quant.of(0.05, 0)
    x = Tensor("x", (1, 64), "int8", q)
    big = [Tensor(n, (1, 64), "int8", q) for n in ("a1", "b1")]
    small = [Tensor(n, (1, 4), "int8", q) for n in ("a2", "b2")]
    wq = Quant.of(0.01, 0)
    rng = np.random.default_rng(0)
    weights = [Tensor(f"w{i}", shape, "int8", wq, rng.integers(-127, 128, shape))
               for i, shape in enumerate(((64, 64), (64, 64), (4, 64), (4, 64)))]
    y = Tensor("y", (1, 4), "int8", q)
    from tinyml.ops.binary import BinaryAttrs
    from tinyml.ops.fully_connected import FullyConnectedAttrs
    fc = FullyConnectedAttrs()
    nodes = [Node("a1", "FullyConnected", ("x", "w0"), ("a1",), fc),
             Node("b1", "FullyConnected", ("x", "w1"), ("b1",), fc),
             Node("a2", "FullyConnected", ("a1", "w2"), ("a2",), fc),
             Node("b2", "FullyConnected", ("b1", "w3"), ("b2",), fc),
             Node("add", "Add", ("a2", "b2"), ("y",), BinaryAttrs())]
    return Graph.build("branches", nodes, [x, *big, *small, *weights, y], ["x"], ["y"])


def test_lowering_runs_branches_in_the_order_of_least_peak(tmp_path):
    graph = _two_branches()
    code = lower_model(graph, "branches")
    order = [layer.node.name for layer in code.layers]
    assert order != [n.name for n in graph.nodes]
    assert order.index("a2") < order.index("b1") or order.index("b2") < order.index("a1")
    scratch = {l.node.name: l.call.scratch_bytes for l in code.layers if l.call.scratch_bytes}
    sizes = {t: graph.tensor(t).nbytes for t in ("a1", "b1", "a2", "b2")}
    memory = Memory({t: t for t in graph.tensors}, sizes, scratch)
    in_graph_order = _peak(graph, memory, [n.name for n in graph.nodes], alignment=16)
    assert code.plan.lower_bound == code.schedule.peak == in_graph_order - 64 + 16
    assert_c_matches_ref(graph, random_inputs(graph, 3, np.random.default_rng(1)), tmp_path)
