"""`python -m tinyml.fuzz`: run the fuzzer, print the summary, write JSON and the failing
mutants; exit 1 when any case failed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .runner import format_summary, run_fuzz, write_json
from .seeds import SHARED_MODELS, generated_seeds, shared_seeds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tinyml.fuzz", description=__doc__)
    p.add_argument("--cases", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0, help="the run's seed: same seed, same cases")
    p.add_argument("--jobs", type=int, default=2, help="worker processes")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/fuzz"),
                   help="folder for summary.json and failures/ (the mutants and their reasons)")
    p.add_argument("--shared", type=Path, default=SHARED_MODELS,
                   help="folder of shared models to mutate too (skipped when absent)")
    p.add_argument("--no-shared", action="store_true", help="only the generated seed models")
    p.add_argument("--max-seed-bytes", type=int,
                   help="leave out shared models larger than this")
    args = p.parse_args(argv)
    seeds = generated_seeds()
    if not args.no_shared:
        seeds += shared_seeds(args.shared, args.max_seed_bytes)

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{done}/{total}", end="", file=sys.stderr, flush=True)

    summary = run_fuzz(seeds, args.cases, args.seed, args.jobs, args.out, progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(format_summary(summary))
    write_json(summary, args.out / "summary.json")
    print(f"\nwrote {args.out / 'summary.json'}")
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
