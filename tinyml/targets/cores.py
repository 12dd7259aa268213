"""Cores: compiler flags and the features kernels are chosen by.

`host` is the machine's own C compiler, for tests and `tinyml run` without a board.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyml.errors import UsageError

# The features kernel variants are chosen by (tinyml/kernels): what a variant needs, a core has.
DSP = "dsp"    # the DSP extension's SIMD32 instructions (SMLAD, SXTB16, SSAT, QADD)
FPU = "fpu"    # a hardware floating-point unit, single precision at least
MVE = "mve"    # the M-profile vector extension (Helium)
FEATURES = (DSP, FPU, MVE)


@dataclass(frozen=True)
class Core:
    name: str
    arch: str                  # e.g. armv7e-m; "host" for the host compiler
    cflags: tuple[str, ...]    # machine flags for arm-none-eabi-gcc (empty for host)
    has_dsp: bool              # SIMD32 (SMLAD, SXTB16)
    fpu: str | None            # None | "sp" | "dp"
    qemu_cpu: str | None = None
    has_mve: bool = False      # Helium (Armv8.1-M)

    @property
    def features(self) -> frozenset[str]:
        return frozenset(name for name, present in
                         ((DSP, self.has_dsp), (FPU, self.has_fpu), (MVE, self.has_mve)) if present)

    @property
    def has_fpu(self) -> bool:
        return self.fpu is not None

    @property
    def is_host(self) -> bool:
        return self.name == "host"


_CORES = (
    Core("cortex-m0", "armv6-m", ("-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft"),
         has_dsp=False, fpu=None, qemu_cpu="cortex-m0"),
    Core("cortex-m0plus", "armv6-m", ("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"),
         has_dsp=False, fpu=None),
    Core("cortex-m3", "armv7-m", ("-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"),
         has_dsp=False, fpu=None, qemu_cpu="cortex-m3"),
    Core("cortex-m4", "armv7e-m", ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                                   "-mfpu=fpv4-sp-d16"),
         has_dsp=True, fpu="sp", qemu_cpu="cortex-m4"),
    Core("cortex-m7", "armv7e-m", ("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard",
                                   "-mfpu=fpv5-d16"),
         has_dsp=True, fpu="dp", qemu_cpu="cortex-m7"),
    Core("cortex-m33", "armv8-m.main", ("-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=hard",
                                        "-mfpu=fpv5-sp-d16"),
         has_dsp=True, fpu="sp", qemu_cpu="cortex-m33"),
    Core("cortex-m55", "armv8.1-m.main", ("-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"),
         has_dsp=True, fpu="dp", qemu_cpu="cortex-m55", has_mve=True),
    Core("host", "host", (), has_dsp=False, fpu="dp"),
)

CORES: dict[str, Core] = {c.name: c for c in _CORES}


def get_core(name: str) -> Core:
    try:
        return CORES[name]
    except KeyError:
        raise UsageError(f"unknown target {name!r}; choose one of {', '.join(CORES)}") from None
