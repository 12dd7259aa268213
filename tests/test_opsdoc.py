"""docs/ops.md is what the registries say (regenerated and compared), and every op it lists
has a frontend and a portable kernel."""

from pathlib import Path

from tinyml.opsdoc import render

DOC = Path(__file__).resolve().parents[1] / "docs" / "ops.md"


def test_ops_md_matches_the_registries():
    assert DOC.read_text() == render(), "docs/ops.md is stale: python -m tinyml.opsdoc > docs/ops.md"


def test_every_op_has_a_frontend_and_a_portable_kernel():
    rows = [line.split(" | ") for line in render().splitlines() if line.startswith("| ") and
            not line.startswith("| IR op")]
    assert len(rows) > 20
    for op, tflite, onnx, _, _, variants in rows:
        assert tflite != "-" or onnx != "-", op
        assert "portable" in variants, op


def test_a_converter_that_makes_an_undeclared_op_is_refused():
    import pytest
    from tinyml.errors import TinymlError
    from tinyml.frontends.makes import check_made
    from tinyml.ir import Node
    made = [Node("n", "Transpose", ("x",), ("t",)), Node("m", "Conv2D", ("t",), ("y",))]
    check_made(made, ("Conv2D",), "m.onnx", "n", "Conv")      # a layout op may come along
    with pytest.raises(TinymlError, match="made Conv2D, which its registration does not declare"):
        check_made(made, ("FullyConnected",), "m.onnx", "n", "Gemm")
