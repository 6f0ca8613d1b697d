"""The pytest plugin for notebook tests (`-p tools.nbval_plugin`, as `make test-notebooks` loads it).

1. Kernels run in the environment `make execute` stored the outputs in (tools.course.NOTEBOOK_ENV): nbval's kernels
   inherit this process's environment, so it is set here before any kernel starts.
2. Cells marked `# NBVAL_TOLERANCE rel=... abs=...` compare their numbers within that tolerance and the text around
   them exactly (tools/tolerance.py); every other cell is compared exactly, as nbval does.
3. It reports how long each notebook took, and on what: 3 minutes a notebook is the budget on 2 CPU cores with
   native bfloat16, 6 minutes without (float32). It reports, it never fails a test (the machines are noisy). The
   table goes to the terminal and to build/notebook-times-{bf16,float32}.json, which `python -m tools.times` turns
   into NOTEBOOK_TIMES.md.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

from nbval.plugin import IPyNbCell, transform_streams_for_comparison

from tools import tolerance
from tools.course import NOTEBOOK_ENV


BUDGET_SECONDS = 180  # a notebook, on 2 cores that compute bfloat16 natively
PORTABLE_BUDGET_SECONDS = 360  # the goal on 2 cores without (a laptop, Colab's CPU): training runs in float32
_seconds: dict[str, float] = defaultdict(float)


def pytest_configure(config):
    os.environ.update(NOTEBOOK_ENV)
    IPyNbCell.compare_outputs = _compare_outputs


_nbval_compare = IPyNbCell.compare_outputs  # nbval's exact comparison, which every cell without a marker keeps


def _texts(cell: IPyNbCell, outputs, skip) -> dict[str, list]:
    """nbval's view of a cell's outputs: each representation (stream name or MIME type) -> its sanitized values."""
    flat = defaultdict(list)
    for out in transform_streams_for_comparison(outputs):
        for key, value in out.items():
            if key == "data":
                for mime, data in value.items():
                    if mime not in skip:
                        flat[mime].append(cell.sanitize(data))
            elif key not in skip:
                flat[key].append(cell.sanitize(value))
    return flat


def _first_difference(stored: dict, fresh: dict, tol: tolerance.Tolerance) -> str | None:
    if set(fresh) != set(stored):
        return f"the outputs have {sorted(fresh)}, stored {sorted(stored)}"
    for key in sorted(stored):
        if len(fresh[key]) != len(stored[key]):
            return f"{key}: {len(fresh[key])} outputs, {len(stored[key])} stored"
        for a, b in zip(stored[key], fresh[key], strict=True):
            if problem := tolerance.difference(str(a), str(b), tol):
                return f"{key}: {problem}\n--- stored:\n{a}\n--- now:\n{b}"
    return None


def _compare_outputs(self: IPyNbCell, test, ref, skip_compare=None):
    tol = tolerance.parse(self.cell.source)
    if tol is None:
        return _nbval_compare(self, test, ref, skip_compare)
    skip = skip_compare or self.parent.skip_compare
    problem = _first_difference(_texts(self, ref, skip), _texts(self, test, skip), tol)
    self.comparison_traceback = []
    if problem:
        self.comparison_traceback.append(f"outside the cell's tolerance (rel={tol.rel:g}, abs={tol.abs:g}): {problem}")
    return problem is None


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _seconds[path] += report.duration  # setup (kernel start), call and teardown


def machine() -> dict[str, str | bool]:
    """The CPU the notebooks ran on, as PyTorch uses it: its name, the kernels it dispatches to (what
    ATEN_CPU_CAPABILITY simulates), and whether training runs in bfloat16 there (course_lib.training.native_bf16)."""
    import platform

    import torch

    from course_lib.training import native_bf16

    name = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        name = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                     if line.startswith("model name")), name)
    return {"cpu": name, "cores": os.cpu_count(), "avx512_bf16": torch.cpu._is_avx512_bf16_supported(),
            "amx": torch.cpu._is_amx_tile_supported(), "capability": torch.backends.cpu.get_cpu_capability(),
            "native_bf16": native_bf16(), "simulated": bool(os.environ.get("ATEN_CPU_CAPABILITY"))}


def pytest_terminal_summary(terminalreporter):
    if not _seconds:
        return
    tr, info = terminalreporter, machine()
    budget = BUDGET_SECONDS if info["native_bf16"] else PORTABLE_BUDGET_SECONDS
    tr.section(f"time per notebook ({info['cpu']}, {info['capability']}, "
               f"{'bfloat16' if info['native_bf16'] else 'float32'})")
    for path, seconds in sorted(_seconds.items(), key=lambda kv: -kv[1]):
        flag = f"  OVER THE {budget // 60}-MINUTE BUDGET" if seconds > budget else ""
        tr.write_line(f"{seconds:8.1f} s  {path}{flag}")
    tr.write_line(f"{sum(_seconds.values()):8.1f} s  in all, {len(_seconds)} notebooks")
    out = Path(f"build/notebook-times-{'bf16' if info['native_bf16'] else 'float32'}.json")
    out.parent.mkdir(exist_ok=True)
    seconds = {k: round(v, 2) for k, v in _seconds.items()}
    if out.exists():  # a run of some notebooks on the same machine updates theirs and keeps the others
        earlier = json.loads(out.read_text())
        if earlier.get("machine") == info:
            seconds = {**earlier["seconds"], **seconds}
    out.write_text(json.dumps({"machine": info, "seconds": dict(sorted(seconds.items()))}, indent=1) + "\n")
