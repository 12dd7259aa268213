"""onnxruntime's QOperator ops of the com.microsoft domain, written out as their definition.

`quantize_static(..., quant_format=QuantFormat.QOperator)` writes QLinearAdd, QLinearMul,
QLinearAveragePool, QLinearGlobalAveragePool, QLinearConcat, QLinearSigmoid and
QLinearLeakyRelu: each is DequantizeLinear of its inputs -> the float op -> QuantizeLinear.
Rewriting them so (in the model proto, before shape inference, which does not know them)
lets ONNX infer their shapes and the QDQ pass make int8 ops of them, as for QDQ models.
Other com.microsoft ops stay, and are refused by name.
"""

from __future__ import annotations

from ..errors import ModelError, UnsupportedError

MICROSOFT = "com.microsoft"

#: op -> (the float op, (tensor, scale, zero point) input indices, the output's (scale, zp))
EXPANSIONS = {
    "QLinearAdd": ("Add", ((0, 1, 2), (3, 4, 5)), (6, 7)),
    "QLinearMul": ("Mul", ((0, 1, 2), (3, 4, 5)), (6, 7)),
    "QLinearAveragePool": ("AveragePool", ((0, 1, 2),), (3, 4)),
    "QLinearGlobalAveragePool": ("GlobalAveragePool", ((0, 1, 2),), (3, 4)),
    "QLinearSigmoid": ("Sigmoid", ((0, 1, 2),), (3, 4)),
    "QLinearLeakyRelu": ("LeakyRelu", ((0, 1, 2),), (3, 4)),
}


def expand_qoperators(model, source: str) -> None:
    """Replace, in place, every QLinear op above (and QLinearConcat) by DQ -> op -> Q."""
    from onnx import helper

    graph = model.graph
    if not any(n.domain == MICROSOFT and _layout(n) for n in graph.node):
        return
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                default=0)
    if opset < 10:
        raise UnsupportedError(f"QOperator ops need ONNX opset >= 10, the model has {opset}",
                               model=source)
    taken = {n for node in graph.node for n in (*node.input, *node.output)}
    taken |= {node.name for node in graph.node}
    nodes = []
    for node in graph.node:
        if node.domain != MICROSOFT or not _layout(node):
            nodes.append(node)
            continue
        name = node.name or (node.output[0] if node.output else node.op_type)
        float_op, sources, (y_scale, y_zp) = _layout(node)
        ins = list(node.input)
        required = [y_scale, *(i for x, s, _ in sources for i in (x, s))]
        if len(node.output) != 1 or not node.output[0] or not sources or \
                any(i >= len(ins) or not ins[i] for i in required):
            raise ModelError("the node's inputs or outputs are missing", model=source,
                             node=name, op=node.op_type)
        attrs = [a for a in node.attribute if a.name != "channels_last"]
        if any(a.name == "channels_last" and a.i for a in node.attribute):
            raise UnsupportedError("channels_last=1 is not supported", model=source, node=name,
                                   op=node.op_type)
        floats = []
        for k, (x, s, z) in enumerate(sources):
            out = _fresh(f"{ins[x]}_dequantized", taken)
            nodes.append(helper.make_node("DequantizeLinear", [ins[x], _at(ins, s), _at(ins, z)],
                                          [out], name=_fresh(f"{name}_dequantize{k}", taken)))
            floats.append(out)
        y_float = _fresh(f"{node.output[0]}_float", taken)
        op = helper.make_node(float_op, floats, [y_float], name=_fresh(name, taken))
        op.attribute.extend(attrs)
        nodes.append(op)
        nodes.append(helper.make_node("QuantizeLinear",
                                      [y_float, _at(ins, y_scale), _at(ins, y_zp)],
                                      [node.output[0]], name=_fresh(f"{name}_quantize", taken)))
    del graph.node[:]
    graph.node.extend(nodes)


def _layout(node):
    """(float op, input triples, output (scale, zp) indices) of a QOperator node, or None."""
    if node.op_type == "QLinearConcat":
        triples = tuple((i, i + 1, i + 2) for i in range(2, len(node.input), 3))
        return "Concat", triples, (0, 1)
    return EXPANSIONS.get(node.op_type)


def _at(inputs: list[str], i: int) -> str:
    return inputs[i] if i < len(inputs) else ""


def _fresh(base: str, taken: set[str]) -> str:
    name, i = base, 0
    while name in taken:
        i += 1
        name = f"{base}_{i}"
    taken.add(name)
    return name
