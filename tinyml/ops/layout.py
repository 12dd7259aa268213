"""Compile-time shape work for the elementwise and data-movement kernels.

Broadcasting, transposing and padding are simplified before any C runs: dims of size 1 are
dropped and neighbouring dims that move together are merged, so the kernels loop over a few
dims with strides computed here (same-shape operands become one flat loop).
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError

#: the most dims a kernel loops over (TM_MAX_DIMS in tm_nn.h)
MAX_DIMS = 6


def array_fields(name: str, values) -> tuple[tuple[str, int], ...]:
    """An array member of a params struct, as C99 designators `name[i]`."""
    return tuple((f"{name}[{i}]", int(v)) for i, v in enumerate(values))


def row_major_strides(shape) -> tuple[int, ...]:
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= int(d)
    return tuple(reversed(strides))


def broadcast_shape(shape1, shape2) -> tuple[int, ...]:
    try:
        return tuple(int(d) for d in np.broadcast_shapes(tuple(shape1), tuple(shape2)))
    except ValueError:
        raise ShapeError(f"shapes {tuple(shape1)} and {tuple(shape2)} do not broadcast") from None


def broadcast_loops(shape1, shape2, rank: int = 4
                    ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """(dims, strides1, strides2) of `rank` nested loops computing a broadcast binary op.

    Output dims of size 1 are dropped; neighbours where each operand is either full or
    repeated in both are merged. Strides count elements; 0 repeats the operand.
    """
    out = broadcast_shape(shape1, shape2)
    padded = [(1,) * (len(out) - len(s)) + tuple(s) for s in (shape1, shape2)]
    groups: list[list] = []                  # [size, (full1, full2)]
    for i, d in enumerate(out):
        if d == 1:
            continue
        full = tuple(p[i] == d for p in padded)
        if groups and groups[-1][1] == full:
            groups[-1][0] *= d
        else:
            groups.append([d, full])
    if len(groups) > rank:
        raise ShapeError(f"broadcasting {tuple(shape1)} with {tuple(shape2)} needs more than "
                         f"{rank} loops")
    dims = [g[0] for g in groups]
    strides = []
    for k in range(2):
        step, s = 1, []
        for size, full in reversed(groups):
            s.append(step if full[k] else 0)
            step *= size if full[k] else 1
        strides.append(list(reversed(s)))
    lead = rank - len(dims)
    return ((1,) * lead + tuple(dims), (0,) * lead + tuple(strides[0]),
            (0,) * lead + tuple(strides[1]))


def transpose_loops(shape, perm) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(dims, input strides) over the output of a transpose, in output order, simplified."""
    kept = [a for a in range(len(shape)) if shape[a] != 1]
    shape = [int(shape[a]) for a in kept]
    perm = [kept.index(a) for a in perm if a in kept]
    # merge output neighbours that are also input neighbours
    runs: list[list[int]] = []
    for a in perm:
        if runs and runs[-1][-1] + 1 == a:
            runs[-1].append(a)
        else:
            runs.append([a])
    # the merged input: runs in input order
    order = sorted(range(len(runs)), key=lambda r: runs[r][0])
    in_dims = [int(np.prod([shape[a] for a in runs[r]])) for r in order]
    in_strides = dict(zip(order, row_major_strides(in_dims)))
    dims = tuple(int(np.prod([shape[a] for a in run])) for run in runs) or (1,)
    strides = tuple(in_strides[r] for r in range(len(runs))) or (1,)
    if len(dims) > MAX_DIMS:
        raise ShapeError(f"transpose {tuple(perm)} of {tuple(shape)} needs more than "
                         f"{MAX_DIMS} dims")
    return dims, strides


def pad_loops(shape, pads, rank: int = 4
              ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """(input dims, output dims, pads before) of a constant pad, simplified to `rank` dims.

    A dim merges into the next (inner) one when the inner one is not padded: its rows are
    then contiguous in both input and output.
    """
    dims: list[list[int]] = []               # [in, before, after], innermost last
    for d, (before, after) in zip(shape, pads):
        if d == 1 and before == 0 and after == 0:
            continue
        dims.append([int(d), int(before), int(after)])
    merged: list[list[int]] = []
    for d in reversed(dims):
        if merged and merged[0][1] == 0 and merged[0][2] == 0:
            inner = merged[0][0]
            merged[0] = [d[0] * inner, d[1] * inner, d[2] * inner]
        else:
            merged.insert(0, d)
    if len(merged) > rank:
        raise ShapeError(f"padding {tuple(pads)} of {tuple(shape)} needs more than {rank} dims")
    merged = [[1, 0, 0]] * (rank - len(merged)) + merged
    return (tuple(m[0] for m in merged), tuple(m[0] + m[1] + m[2] for m in merged),
            tuple(m[1] for m in merged))
