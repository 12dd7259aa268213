"""A rectangle of a conv-like layer's output, and the geometry its kernel computes it with.

Every conv-like kernel reads its window geometry (tm_conv_geometry) at run time, rows by
in_pitch/out_pitch. Computing output rows [top, bottom) and columns [left, right) is one call
of the same kernel: the input window those outputs read starts at `input_offset` elements
into the input tensor, its size is in_h x in_w, and pad_top/pad_left are the padding left
above and before it (zero inside the image); windows are clipped at in_h/in_w, which is the
bottom/right padding exactly when the window reaches the image's edge. The patch-based
schedule calls kernels this way; tests/region_checks.py shows region by region equals whole.
Pools (tm_pool2d_shape) name the same fields `shape.*`, with one `channels` for in_c and out_c.

A patch-based schedule keeps only a rectangle of a tensor in a buffer of its own (a `Box`,
the same record as a Region): then the pitch is the box's width and offsets count from the
box's corner.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

GEOMETRY = "geometry."
PREFIXES = (GEOMETRY, "shape.")   # conv-like kernels, pools


@dataclass(frozen=True)
class Region:
    """Rows [top, bottom) and columns [left, right) of a tensor."""
    top: int
    bottom: int
    left: int
    right: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def covers(self, other: "Region") -> bool:
        return (self.top <= other.top and other.bottom <= self.bottom
                and self.left <= other.left and other.right <= self.right)

    def union(self, other: "Region") -> "Region":
        return Region(min(self.top, other.top), max(self.bottom, other.bottom),
                      min(self.left, other.left), max(self.right, other.right))


#: what a buffer of a patch-based schedule holds of its tensor
Box = Region


@lru_cache(maxsize=4096)
def geometry_of(params: tuple[tuple[str, int], ...]) -> dict[str, int] | None:
    """The window geometry of a conv-like kernel's params by field name (in_c/out_c for pools
    too), or None for a kernel without one."""
    prefix = _prefix(params)
    if prefix is None:
        return None
    g = {name[len(prefix):]: value for name, value in params if name.startswith(prefix)}
    if not {"kernel_h", "in_pitch", "out_pitch", "batches"} <= set(g):
        return None   # a shape of another kind (pads, transposes)
    g.setdefault("in_c", g.get("channels"))
    g.setdefault("out_c", g.get("channels"))
    return g


def input_window(g: dict[str, int], region: Region) -> Box:
    """The rectangle of the input that `region` of the output reads (inside the image)."""
    y0, h, _ = window(region.top, region.bottom, g["stride_h"], g["pad_top"], g["kernel_h"],
                       g["dilation_h"], g["in_h"])
    x0, w, _ = window(region.left, region.right, g["stride_w"], g["pad_left"], g["kernel_w"],
                       g["dilation_w"], g["in_w"])
    return Box(y0, y0 + h, x0, x0 + w)


@dataclass(frozen=True)
class RegionCall:
    params: tuple[tuple[str, int], ...]   # the layer's params with the region's geometry
    input_offset: int                     # elements from the input's start to the window's
    output_offset: int                    # elements from the output's start to the region's


def window(first_out: int, end_out: int, stride: int, pad: int, kernel: int, dilation: int,
            size: int) -> tuple[int, int, int]:
    """(first input index, window size, padding before it) along one axis."""
    origin = first_out * stride - pad
    reach = (end_out - 1) * stride - pad + (kernel - 1) * dilation + 1
    first = min(max(origin, 0), size)
    end = max(min(reach, size), first)
    return first, end - first, first - origin


def _prefix(params: tuple[tuple[str, int], ...]) -> str | None:
    return next((p for p in PREFIXES if any(name.startswith(p) for name, _ in params)), None)


def region_call(params: tuple[tuple[str, int], ...], region: Region,
                in_box: Box | None = None, out_box: Box | None = None) -> RegionCall:
    """The call computing `region`; the input (output) lives in a buffer holding `in_box`
    (`out_box`) of its tensor, or whole when None. Offsets are in elements of those buffers."""
    prefix, g = _prefix(params), geometry_of(params)
    if g["batches"] != 1:
        raise ValueError("regions are of one image: batches must be 1")
    if not (0 <= region.top < region.bottom <= g["out_h"]
            and 0 <= region.left < region.right <= g["out_w"]):
        raise ValueError(f"region {region} outside the {g['out_h']}x{g['out_w']} output")
    y0, in_h, pad_top = window(region.top, region.bottom, g["stride_h"], g["pad_top"],
                                g["kernel_h"], g["dilation_h"], g["in_h"])
    x0, in_w, pad_left = window(region.left, region.right, g["stride_w"], g["pad_left"],
                                 g["kernel_w"], g["dilation_w"], g["in_w"])
    in_c, out_c = g["in_c"], g["out_c"]
    in_box = in_box or Box(0, g["in_h"], 0, g["in_w"])
    out_box = out_box or Box(0, g["out_h"], 0, g["out_w"])
    if not (in_box.covers(Box(y0, y0 + in_h, x0, x0 + in_w))
            and out_box.covers(region)):
        raise ValueError(f"region {region}: its window or output lies outside its buffers")
    in_pitch = g["in_pitch"] if in_box.width == g["in_w"] else in_box.width * in_c
    out_pitch = g["out_pitch"] if out_box.width == g["out_w"] else out_box.width * out_c
    changed = {"in_h": in_h, "in_w": in_w, "pad_top": pad_top, "pad_left": pad_left,
               "out_h": region.bottom - region.top, "out_w": region.right - region.left,
               "in_pitch": in_pitch, "out_pitch": out_pitch}
    new = tuple((name, changed.get(name[len(prefix):], value) if name.startswith(prefix)
                 else value) for name, value in params)
    return RegionCall(new, (y0 - in_box.top) * in_pitch + (x0 - in_box.left) * in_c,
                      (region.top - out_box.top) * out_pitch + (region.left - out_box.left) * out_c)


def cuts(size: int, parts: int) -> list[int]:
    """Where `size` rows (or columns) cut into `parts` spans of near-equal size: parts + 1
    bounds."""
    return [size * i // parts for i in range(parts + 1)]


def grid(out_h: int, out_w: int, rows: int, cols: int) -> list[Region]:
    """The output cut into rows x cols rectangles of near-equal size (uneven where needed)."""
    ys, xs = cuts(out_h, rows), cuts(out_w, cols)
    return [Region(ys[i], ys[i + 1], xs[j], xs[j + 1])
            for i in range(rows) for j in range(cols) if ys[i] < ys[i + 1] and xs[j] < xs[j + 1]]
