"""`make bench`: course_lib against the reference implementations, side by side, in one run on one machine.

    python -m tools.bench [--json build/bench.json] [--only NAME]

Each benchmark is a function registered with `@benchmark` that returns a `Result`: our figure and, where there is
one, the reference's figure measured in the same run, in the same unit. The harness prints a markdown table with
the ratio (ours over reference for "higher is better" units, reference over ours otherwise, so that > 1 always
means we are faster) and writes every figure to JSON. Timings belong here, never in tests: machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Result:
    """One row of the benchmark table."""

    name: str
    ours: float
    unit: str
    reference: float | None = None
    reference_name: str = ""
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times better we are than the reference (> 1: better), or None without a reference."""
        if not self.reference or not self.ours:
            return None
        return self.ours / self.reference if self.higher_is_better else self.reference / self.ours


BENCHMARKS: dict[str, Callable[[], list[Result]]] = {}


def benchmark(fn: Callable[[], list[Result]]) -> Callable[[], list[Result]]:
    """Register a benchmark; later chapters add theirs with this decorator."""
    BENCHMARKS[fn.__name__] = fn
    return fn


def best_of(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of `fn` in seconds over `repeat` runs, after `warmup` runs that are not counted."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# --- the benchmarks -------------------------------------------------------------------------------------------

@benchmark
def matmul_peak() -> list[Result]:
    """The machine's float32 matrix-multiply throughput: the yardstick for training throughput (chapter 7)."""
    import torch

    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    seconds = best_of(lambda: a @ b, repeat=20, warmup=3)
    return [Result("float32 matmul 1024x1024 (torch)", 2 * n**3 / seconds / 1e9, "GFLOP/s",
                   note=f"{torch.get_num_threads()} threads")]


# --- the harness ----------------------------------------------------------------------------------------------

def table(results: list[Result]) -> str:
    """The results as a markdown table."""
    rows = ["| benchmark | course_lib | reference | ratio |", "|---|---:|---:|---:|"]
    for r in results:
        ours = f"{r.ours:,.1f} {r.unit}"
        ref = f"{r.reference:,.1f} {r.unit} ({r.reference_name})" if r.reference is not None else "—"
        ratio = f"{r.ratio:.2f}×" if r.ratio is not None else "—"
        note = f" ({r.note})" if r.note else ""
        rows.append(f"| {r.name}{note} | {ours} | {ref} | {ratio} |")
    return "\n".join(rows)


def run(names: list[str] | None = None) -> list[Result]:
    results = []
    for name, fn in BENCHMARKS.items():
        if names and name not in names:
            continue
        print(f"running {name}...", file=sys.stderr, flush=True)
        results += fn()
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="run only this benchmark")
    args = parser.parse_args(argv)
    results = run(args.only)
    print(table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        machine = {"python": platform.python_version(), "machine": platform.machine(), "processor": platform.processor()}
        payload = {"machine": machine, "results": [{**asdict(r), "ratio": r.ratio} for r in results]}
        args.json.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
