"""NOTEBOOK_TIMES.md: how long each notebook takes, with native bfloat16 and in float32, from measured runs.

    make test-notebooks        # writes build/notebook-times-bf16.json on a CPU with native bfloat16
    make test-portable         # writes build/notebook-times-float32.json (a simulated CPU without AVX-512)
    python -m tools.times      # the page, from both files (`make times`)

The times are nbval's: kernel start, every cell, and the comparison of its outputs. They vary from run to run by
several percent on a shared machine; the page says on what they were measured.
"""

from __future__ import annotations

import json
import sys
import textwrap

from tools.course import ROOT, SOURCE_LANG, sections


RUNS = {"bf16": "native bfloat16", "float32": "float32 (no native bfloat16)"}
PAGE = ROOT / "NOTEBOOK_TIMES.md"


def describe(machine: dict) -> str:
    how = "simulated with ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2" \
        if machine.get("simulated") else "as it is"
    flags = "".join(f", {name} {'yes' if machine[key] else 'no'}" for key, name in
                    (("avx512_bf16", "AVX512-BF16"), ("amx", "AMX")) if key in machine)
    return (f"{machine['cpu']}, {machine['cores']} cores{flags}, PyTorch kernels {machine['capability']} ({how}); "
            f"training in {'bfloat16 autocast' if machine['native_bf16'] else 'float32'}")


def page(runs: dict[str, dict]) -> str:
    intro = ("Measured by `make test-notebooks` (the first column) and `make test-portable` (the second): the whole "
             "notebook under nbval, kernel start included, in seconds. The budget is 3 minutes a notebook with native "
             "bfloat16 and the goal 6 minutes without (a laptop, Colab's free CPU). The stored outputs of the "
             "notebooks come from the first machine; both runs compare with them. `python -m tools.times` writes this "
             "page from `build/notebook-times-*.json`; the CPU's name is the one the machine reports.")
    lines = ["# How long each notebook takes", "", *textwrap.wrap(intro, 110, break_on_hyphens=False), ""]
    for key, run in runs.items():
        lines.append(f"- **{RUNS[key]}**: {describe(run['machine'])}.")
    lines += ["", "| section | notebook | " + " | ".join(RUNS[k] for k in runs) + " |",
              "|---|---|" + "---:|" * len(runs)]
    totals = dict.fromkeys(runs, 0.0)
    for s in sections():
        path = f"chapters/{SOURCE_LANG}/{s.path}"
        cells = []
        for key, run in runs.items():
            seconds = run["seconds"].get(path)
            totals[key] += seconds or 0.0
            cells.append("" if seconds is None else f"{seconds:.0f} s")
        lines.append(f"| {s.titles[SOURCE_LANG]} | `{s.path}` | " + " | ".join(cells) + " |")
    lines.append("| **all** | | " + " | ".join(f"**{totals[k] / 60:.1f} min**" for k in runs) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    runs = {}
    for key in RUNS:
        path = ROOT / "build" / f"notebook-times-{key}.json"
        if path.exists():
            runs[key] = json.loads(path.read_text())
    if not runs:
        print("no build/notebook-times-*.json: run `make test-notebooks` and `make test-portable` first")
        return 2
    PAGE.write_text(page(runs), encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)} from {', '.join(RUNS[k] for k in runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
