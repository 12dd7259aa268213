"""Lowering of a training plan (tinyml/train/plan.py) to records for the templates: the state
layout, the forward tensors the step saves, the backward's buffers and calls.

State (caller-owned, `<NAME>_STATE_SIZE` bytes): per trained tensor, its integer copy (the
whole tensor, which the forward reads in place of the flash constant) then the float master
of its trained channels; `<name>_train_init` fills both from flash.

Train arena (`<NAME>_TRAIN_ARENA_SIZE` bytes): the forward runs in the inference arena's
bytes [0, ARENA_SIZE) and copies each tensor the backward reads, once written, into the
saved region above; the model output goes there too. The backward's gradient buffers
(float32) are planned by the arena planner over the backward steps, from byte 0: the
inference arena is dead by then, so they reuse it, and the saved region starts above
whichever is larger.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dtypes import DTYPES
from ..ir import Graph, Node
from ..plan.arena import BufferRequest, aligned, check_plan, plan_arena
from .grads import weight_scales
from .plan import TrainPlan, _node
from .reference import factors

ALIGN = 16


@dataclass(frozen=True)
class StateTensor:
    tensor: str
    node: str
    role: str
    ctype: str            # int8_t | int32_t
    offset: int           # of the integer copy in the state
    nbytes: int
    master: int           # offset of the float master
    span: tuple[int, int, int, int]   # outer, channels, inner, trained
    source: str           # the flash constant the copy starts from (symbol)

    @property
    def master_count(self) -> int:
        outer, _, inner, trained = self.span
        return outer * trained * inner


@dataclass(frozen=True)
class Save:
    """After layer `after` (-1: before the first), copy a forward tensor into the saved
    region."""
    after: int
    tensor: str
    src: dict          # the tensor's location record (tinyml/codegen/lower.py)
    offset: int        # in the train arena
    nbytes: int


@dataclass(frozen=True)
class TrainCall:
    kernel: str
    args: tuple[dict, ...]
    result: str = ""   # "loss": the call's value is the loss


@dataclass(frozen=True)
class TrainCode:
    plan: TrainPlan
    state: tuple[StateTensor, ...]
    state_size: int
    arena_size: int                   # the train arena
    saves: tuple[Save, ...]
    output_offset: int                # where the forward writes the model output
    calls: tuple[TrainCall, ...]
    consts: tuple[tuple[str, str, np.ndarray], ...]    # (symbol, ctype, values)
    structs: tuple[tuple[str, str, tuple], ...]        # (symbol, ctype, fields)
    backward_bytes: int               # the gradient buffers' plan
    saved_bytes: int


def span_of(graph: Graph, p) -> tuple[int, int, int, int]:
    shape = graph.tensor(p.tensor).shape
    outer = int(np.prod(shape[:p.axis], dtype=np.int64))
    inner = int(np.prod(shape[p.axis + 1:], dtype=np.int64))
    return outer, shape[p.axis], inner, p.channels


def state_layout(plan: TrainPlan, const_symbol) -> tuple[tuple[StateTensor, ...], int]:
    """The trained tensors' places in the state; `const_symbol(tensor)`: its flash copy."""
    out, at = [], 0
    for p in plan.params:
        t = plan.graph.tensor(p.tensor)
        span = span_of(plan.graph, p)
        master = aligned(at + t.nbytes, ALIGN)
        st = StateTensor(p.tensor, p.node, p.role, DTYPES[t.dtype].ctype, at, t.nbytes, master,
                         span, const_symbol(p.tensor))
        out.append(st)
        at = aligned(master + 4 * st.master_count, ALIGN)
    return tuple(out), max(at, ALIGN)


def window(node: Node, graph: Graph) -> tuple:
    """The tm_train_window fields of a layer the backward passes through."""
    x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    a = node.attrs
    one = dict(kernel_h=1, kernel_w=1, stride_h=1, stride_w=1, dilation_h=1, dilation_w=1,
               pad_top=0, pad_left=0, depth_multiplier=1)
    if node.op == "FullyConnected":
        k = graph.tensor(node.inputs[1]).shape[1]
        dims = dict(batches=x.size // k, in_h=1, in_w=1, in_c=k, out_h=1, out_w=1,
                    out_c=y.shape[-1])
        return tuple({**dims, **one}.items())
    b, h, w, c = x.shape
    if node.op == "Mean":
        dims = dict(batches=b, in_h=h, in_w=w, in_c=c, out_h=1, out_w=1, out_c=c)
        return tuple({**dims, **one, "kernel_h": h, "kernel_w": w}.items())
    _, oh, ow, oc = y.shape
    dims = dict(batches=b, in_h=h, in_w=w, in_c=c, out_h=oh, out_w=ow, out_c=oc)
    if node.op == "AveragePool2D":
        kernel = a.kernel
    else:
        kernel = graph.tensor(node.inputs[1]).shape[1:3]
    fields = dict(kernel_h=kernel[0], kernel_w=kernel[1], stride_h=a.strides[0],
                  stride_w=a.strides[1],
                  dilation_h=getattr(a, "dilations", (1, 1))[0],
                  dilation_w=getattr(a, "dilations", (1, 1))[1],
                  pad_top=a.pads[0], pad_left=a.pads[1],
                  depth_multiplier=getattr(a, "depth_multiplier", 1))
    return tuple({**dims, **fields}.items())


def _materializer(graph: Graph, tensor: str, runs: set[str]) -> str | None:
    """The node after which `tensor`'s bytes hold its value (None: a model input)."""
    producers = graph.producers()
    while tensor in producers:
        node = producers[tensor]
        if node.name in runs:
            return node.name
        tensor = node.inputs[0]
    return None


def _arena(offset: int, ctype: str) -> dict:
    return {"kind": "arena", "ctype": ctype, "index": 0, "offset": offset, "symbol": "",
            "elements": 0, "stride": 0}


def _state(offset: int, ctype: str) -> dict:
    return {"kind": "state_rw", "ctype": ctype, "offset": offset}


def _const(symbol: str) -> dict:
    return {"kind": "const", "symbol": symbol}


def _ref(symbol: str) -> dict:
    return {"kind": "params", "symbol": symbol}


def _int(value: int) -> dict:
    return {"kind": "int", "value": int(value)}


def _float(value: float) -> dict:
    return {"kind": "float", "value": float(np.float32(value))}


def _var(name: str) -> dict:
    """A variable of `<name>_train_step` (lr, label): fixed names, never from the model."""
    return {"kind": "var", "name": name}


def gradient_requests(plan: TrainPlan) -> list[BufferRequest]:
    """The backward's gradient buffers with their lifetimes over its steps (0: the loss)."""
    graph = plan.graph
    first: dict[str, int] = {plan.logits: 0}
    last: dict[str, int] = {}
    for s, step in enumerate(plan.steps, start=1):
        node = _node(graph, step.node)
        last[node.outputs[0]] = s
        for i in step.grad_inputs:
            first.setdefault(node.inputs[i], s)
    return [BufferRequest(t, 4 * graph.tensor(t).size, first[t], last.get(t, first[t]))
            for t in first]


def gradient_plan(plan: TrainPlan):
    """The gradient buffers' offsets (the arena planner's)."""
    requests = gradient_requests(plan)
    grads = plan_arena(requests, ALIGN)
    check_plan(grads, requests)
    return grads


def saved_layout(plan: TrainPlan, base: int) -> tuple[dict[str, int], int, int]:
    """(tensor -> offset of the saved tensors from `base`, the model output's offset, the
    end)."""
    graph = plan.graph
    at, saved_at = base, {}
    for t in plan.saved:
        saved_at[t] = at
        at = aligned(at + graph.tensor(t).nbytes, ALIGN)
    output = graph.outputs[0]
    output_offset = saved_at.get(output, at)
    if output not in saved_at:
        at = aligned(at + graph.tensor(output).nbytes, ALIGN)
    return saved_at, output_offset, at


def lower_train(plan: TrainPlan, *, layer_index: dict[str, int], runs: set[str],
                locations: dict, const_symbol, arena_size: int) -> TrainCode:
    """`layer_index`: node -> its layer index; `runs`: the nodes with a kernel call;
    `locations`: tensor -> its location record in the forward; `arena_size`: the inference
    arena's bytes."""
    graph = plan.graph
    state, state_size = state_layout(plan, const_symbol)
    in_state = {t.tensor: t for t in state}
    consts: list[tuple[str, str, np.ndarray]] = []
    structs: list[tuple[str, str, tuple]] = []

    def const(name: str, values: np.ndarray) -> dict:
        symbol = f"tt_{name}{len(consts)}"
        consts.append((symbol, "float", np.asarray(values, np.float32)))
        return _const(symbol)

    def struct(ctype: str, fields: tuple) -> dict:
        symbol = f"tt_{ctype.removeprefix('tm_train_')}{len(structs)}"
        structs.append((symbol, ctype, fields))
        return _ref(symbol)

    windows: dict[str, dict] = {}

    def window_of(node: Node) -> dict:
        """One tm_train_window per layer, whichever calls read it."""
        if node.name not in windows:
            windows[node.name] = struct("tm_train_window", window(node, graph))
        return windows[node.name]

    grads = gradient_plan(plan)
    saved_base = aligned(max(arena_size, grads.size), ALIGN)
    saved_at, output_offset, at = saved_layout(plan, saved_base)
    output = graph.outputs[0]
    saves = []
    for t in plan.saved:
        if t == output:
            continue   # the forward writes it there
        maker = _materializer(graph, t, runs)
        saves.append(Save(layer_index[maker] if maker else -1, t, locations[t], saved_at[t],
                          graph.tensor(t).nbytes))

    def grad(t: str) -> dict:
        return _arena(grads.offsets[t], "float")

    def saved(t: str) -> dict:
        return _arena(saved_at[t], "int8_t")

    def quant(t: str) -> tuple[dict, dict]:
        q = graph.tensor(t).quant
        return _float(q.scale[0]), _int(q.zero_point[0])

    calls = [TrainCall("tm_train_xent_s8", (
        saved(plan.logits), _int(graph.tensor(plan.logits).size), *quant(plan.logits),
        _float(plan.beta), _var("label"), grad(plan.logits)), "loss")]
    zeroed = {plan.logits}
    for step in plan.steps:
        node = _node(graph, step.node)
        y = node.outputs[0]
        n = graph.tensor(y).size
        if step.mask is not None:
            calls.append(TrainCall("tm_train_mask_s8", (grad(y), saved(y), _int(n),
                                                        _int(step.mask[0]), _int(step.mask[1]))))
        for i in step.grad_inputs:
            x = node.inputs[i]
            if x not in zeroed:
                calls.append(TrainCall("tm_train_zero_f32", (grad(x), _int(graph.tensor(x).size))))
                zeroed.add(x)
            if node.op in ("FullyConnected", "Conv2D", "DepthwiseConv2D"):
                w = node.inputs[1]
                weights = (_state(in_state[w].offset, "int8_t") if w in in_state
                           else _const(const_symbol(w)))
                kernel = ("tm_train_depthwise_grad_s8" if node.op == "DepthwiseConv2D"
                          else "tm_train_conv2d_grad_s8")
                calls.append(TrainCall(kernel, (
                    window_of(node), grad(y), weights,
                    const("scale", weight_scales(graph, node)), grad(x))))
            elif node.op in ("AveragePool2D", "Mean"):
                calls.append(TrainCall("tm_train_avgpool_grad_f32", (
                    window_of(node), grad(y), grad(x))))
            else:
                calls.append(TrainCall("tm_train_add_f32", (grad(x), grad(y), _int(n))))
        for role in ("weights", "bias"):
            p = plan.param(node.name, role)
            if p is None:
                continue
            st = in_state[p.tensor]
            outer, channels, inner, trained = st.span
            span = struct("tm_train_span", (("outer", outer), ("channels", channels),
                                            ("inner", inner), ("trained", trained)))
            rate = (_var("lr"), const("factor", factors(plan, p)),
                    _state(st.master, "float"), _state(st.offset, st.ctype))
            if role == "bias":
                calls.append(TrainCall("tm_train_bias_update_s32", (
                    grad(y), _int(n // channels), span, *rate)))
                continue
            kernel = ("tm_train_depthwise_update_s8" if node.op == "DepthwiseConv2D"
                      else "tm_train_conv2d_update_s8")
            calls.append(TrainCall(kernel, (
                window_of(node), grad(y),
                saved(node.inputs[0]), *quant(node.inputs[0]), span, *rate)))
    return TrainCode(plan, state, state_size, at, tuple(saves), output_offset, tuple(calls),
                     tuple(consts), tuple(structs), grads.size, at - saved_base)
