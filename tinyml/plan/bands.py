"""Running a conv-like layer in place, band by band of output rows (TinyEngine's in-place
depthwise, for any region-capable kernel).

The output is written over the input's bytes, from the same start: output row r occupies
bytes [r * out_row, (r + 1) * out_row) of the shared buffer, input row i [i * in_row, ...).
The layer runs as bands of `rows` output rows, top to bottom, each one call of the layer's
own kernel on that region (tinyml/kernels/regions.py). A band goes straight to its place
when its bytes hold no input row that this band or a later one still reads; otherwise into a
ring of rows in scratch, from which rows are copied to their place as soon as no later band
reads the input under them (then the rows left in the ring move to its front). So a depthwise
or same-channel conv of stride 1 keeps about one band in the ring, and a stride-2 layer
writes all but its first band straight to place.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..kernels.regions import Box, Region, input_window


@dataclass(frozen=True)
class Band:
    region: Region                 # output rows of this call, all columns
    ring_top: int | None           # the output row at the ring's first row, None: straight to place
    flush: tuple[int, int] | None  # output rows [a, b) copied from the ring to place after the call
    keep: tuple[int, int] | None   # then rows [a, b) move to the ring's front


@dataclass(frozen=True)
class BandPlan:
    rows: int                      # output rows per band
    bands: tuple[Band, ...]
    ring_rows: int                 # rows the ring holds at most
    out_row_bytes: int

    @property
    def ring_bytes(self) -> int:
        return self.ring_rows * self.out_row_bytes

    def ring_box(self, band: Band, out_w: int) -> Box:
        return Box(band.ring_top, band.ring_top + self.ring_rows, 0, out_w)


def plan_bands(g: dict[str, int], rows: int, in_row_bytes: int, out_row_bytes: int) -> BandPlan:
    """The bands of a layer of geometry `g` (regions.geometry_of) computed `rows` output rows
    at a time over its own input."""
    out_h, out_w = g["out_h"], g["out_w"]
    regions = [Region(r, min(r + rows, out_h), 0, out_w) for r in range(0, out_h, rows)]
    # the first input byte each band (and every later one) still reads
    first_read = [input_window(g, r).top * in_row_bytes for r in regions] + [None]
    bands: list[Band] = []
    pending = None   # output rows [pending, band top) wait in the ring
    ring_rows = 0
    for k, region in enumerate(regions):
        direct = pending is None and region.bottom * out_row_bytes <= first_read[k]
        if direct:
            bands.append(Band(region, None, None, None))
            continue
        top = region.top if pending is None else pending
        ring_rows = max(ring_rows, region.bottom - top)
        later = first_read[k + 1]
        safe = region.bottom if later is None else min(later // out_row_bytes, region.bottom)
        flush = (top, safe) if safe > top else None
        keep = (max(safe, top), region.bottom) if max(safe, top) < region.bottom else None
        bands.append(Band(region, top, flush, keep))
        pending = keep[0] if keep else None
    return BandPlan(rows, tuple(bands), ring_rows, out_row_bytes)
