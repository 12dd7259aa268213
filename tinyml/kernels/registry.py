"""The registry of kernel variants, and the choice of one per layer for a core.

A variant is one way to compute an op on given dtypes: the core features it needs, the node
condition it holds for, its scratch bytes and its lowering to a KernelCall. `select` picks, per
layer, the most specific variant (highest priority) whose features the core has and whose
condition holds; every op has an unconditional portable variant per dtype (tinyml/kernels/
portable.py), so a choice always exists. Variants register with `@variant`, one module each,
imported by name in tinyml/kernels/__init__.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from ..errors import about
from ..ir import Graph, Node
from ..ops import get_op
from ..ops.base import KernelCall, io_dtype, unsupported_dtype
from ..targets.cores import FEATURES, Core

Lowering = Callable[[Node, Graph], KernelCall]
Condition = Callable[[Node, Graph], bool]
Scratch = Callable[[Node, Graph], int]
RegionScratch = Callable[[dict], int]   # the params of a region's call -> scratch bytes

#: the priority of the portable variants; a specialised variant ranks above
PORTABLE = 0


def no_scratch(node: Node, graph: Graph) -> int:
    return 0


@dataclass(frozen=True)
class KernelVariant:
    name: str                       # unique: "<op>.<dtype>.portable" or the C kernel's name
    op: str
    act_dtype: str                  # the dtype of the op's first input
    weight_dtype: str | None        # of its constant weights (input 1); None: no weights
    lowering: Lowering
    features: frozenset[str] = frozenset()
    condition: Condition | None = None
    reason: str = "portable"        # why it was chosen, for report.json
    scratch: Scratch = no_scratch   # bytes; mirrored by the C tm_<kernel>_get_buffer_size
    priority: int = PORTABLE
    #: the scratch of a call on a region (tinyml/kernels/regions.py), from its params; None:
    #: the layer's own scratch, which bounds every region's
    region_scratch: RegionScratch | None = None

    @property
    def is_portable(self) -> bool:
        return not self.features and self.condition is None

    def applies(self, node: Node, graph: Graph, core: Core) -> bool:
        if self.features - core.features:
            return False
        if self.weight_dtype is not None and graph.tensor(node.inputs[1]).dtype != self.weight_dtype:
            return False
        return self.condition is None or bool(self.condition(node, graph))

    def lower(self, node: Node, graph: Graph) -> KernelCall:
        call = replace(self.lowering(node, graph), scratch_bytes=self.scratch(node, graph))
        y = graph.tensor(node.outputs[0])
        op = get_op(node, graph)
        if self.is_portable and (op.elementwise or op.in_place_over_inputs):
            same = tuple(i for i, t in enumerate(node.inputs)
                         if t and not graph.tensor(t).is_const
                         and graph.tensor(t).shape == y.shape and graph.tensor(t).nbytes == y.nbytes)
            call = replace(call, in_place=same)
        if self.is_portable and op.elementwise and any(f == "size" for f, _ in call.params):
            call = replace(call, flat=True)
        return call


VARIANTS: list[KernelVariant] = []


def add_variant(v: KernelVariant) -> KernelVariant:
    unknown = v.features - set(FEATURES)
    if unknown:
        raise ValueError(f"variant {v.name}: unknown core features {sorted(unknown)}")
    if any(other.name == v.name for other in VARIANTS):
        raise ValueError(f"variant {v.name} registered twice")
    VARIANTS.append(v)
    return v


def variant(*, op: str, act: str, weights: str | None = None, features=(), condition=None,
            reason: str, scratch: Scratch = no_scratch, priority: int,
            region_scratch: RegionScratch | None = None):
    """Register the decorated lowering as a specialised variant named after the function
    (which is the C kernel's name)."""
    def register(lowering: Lowering) -> Lowering:
        add_variant(KernelVariant(lowering.__name__, op, act, weights, lowering,
                                  frozenset(features), condition, reason, scratch, priority,
                                  region_scratch))
        return lowering
    return register


def variants_for(op: str, dtype: str) -> list[KernelVariant]:
    """Most specific first; among equals, the first registered."""
    found = [v for v in VARIANTS if v.op == op and v.act_dtype == dtype]
    return sorted(found, key=lambda v: -v.priority)


@dataclass(frozen=True)
class Choice:
    variant: KernelVariant
    call: KernelCall

    @property
    def reason(self) -> str:
        return self.variant.reason


def choose(node: Node, graph: Graph, core: Core) -> Choice:
    with about(graph.source, node.name, node.op):
        dtype = io_dtype(node, graph)
        for v in variants_for(node.op, dtype):
            if v.applies(node, graph, core):
                return Choice(v, v.lower(node, graph))
        raise unsupported_dtype(node, graph, dtype)


def portable_choice(node: Node, graph: Graph) -> Choice:
    """The portable variant of the node: it reads weights and bias as they are (a layer
    whose parameters training updates at run time needs that)."""
    with about(graph.source, node.name, node.op):
        dtype = io_dtype(node, graph)
        weights = graph.tensor(node.inputs[1]).dtype if len(node.inputs) > 1 else None
        v = next(v for v in variants_for(node.op, dtype)
                 if v.is_portable and v.weight_dtype in (None, weights))
        return Choice(v, v.lower(node, graph))


def runs(node: Node, graph: Graph) -> bool:
    """False for a view whose output is not the graph's: it shares its input's bytes."""
    return not get_op(node, graph).is_view or node.outputs[0] in graph.outputs


def select(graph: Graph, core: Core) -> dict[str, Choice]:
    """node name -> the chosen variant and its call, for every node that runs."""
    return {node.name: choose(node, graph, core) for node in graph.nodes if runs(node, graph)}
