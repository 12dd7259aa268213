"""The fuzzer: mutants of seed models (generated here, and the shared models when present)
compiled as a user would, each outcome classified, every compiled mutant built and run under
ASan/UBSan. `python -m tinyml.fuzz --cases N --seed S --jobs 2 --out DIR`."""

from .runner import Summary, format_summary, run_fuzz, write_json
from .seeds import Seed, generated_seeds, shared_seeds

__all__ = ["Seed", "Summary", "format_summary", "generated_seeds", "run_fuzz", "shared_seeds",
           "write_json"]
