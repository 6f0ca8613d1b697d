"""The pytest plugin for notebook tests (`-p tools.nbval_plugin`, as `make test-notebooks` loads it).

1. Kernels run in the environment `make execute` stored the outputs in (tools.course.NOTEBOOK_ENV): nbval's kernels
   inherit this process's environment, so it is set here before any kernel starts.
2. Cells marked `# NBVAL_TOLERANCE rel=... abs=...` compare their numbers within that tolerance and the text around
   them exactly (tools/tolerance.py); every other cell is compared exactly, as nbval does.
3. It reports how long each notebook took. The budget is 3 minutes a notebook on 2 CPU cores; this reports, it never
   fails a test (the machines are noisy). The table goes to the terminal and to build/notebook-times.json.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

from nbval.plugin import IPyNbCell, transform_streams_for_comparison

from tools import tolerance
from tools.course import NOTEBOOK_ENV


BUDGET_SECONDS = 180
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


def _compare_outputs(self: IPyNbCell, test, ref, skip_compare=None):
    tol = tolerance.parse(self.cell.source)
    if tol is None:
        return _nbval_compare(self, test, ref, skip_compare)
    skip = skip_compare or self.parent.skip_compare
    fresh, stored = _texts(self, test, skip), _texts(self, ref, skip)
    self.comparison_traceback = []
    problem = None
    if set(fresh) != set(stored):
        problem = f"the outputs have {sorted(fresh)}, stored {sorted(stored)}"
    for key in sorted(stored) if problem is None else []:
        if len(fresh[key]) != len(stored[key]):
            problem = f"{key}: {len(fresh[key])} outputs, {len(stored[key])} stored"
            break
        for a, b in zip(stored[key], fresh[key], strict=True):
            problem = tolerance.difference(str(a), str(b), tol)
            if problem:
                problem = f"{key}: {problem}\n--- stored:\n{a}\n--- now:\n{b}"
                break
        if problem:
            break
    if problem:
        self.comparison_traceback.append(f"outside the cell's tolerance (rel={tol.rel:g}, abs={tol.abs:g}): {problem}")
    return problem is None


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _seconds[path] += report.duration  # setup (kernel start), call and teardown


def pytest_terminal_summary(terminalreporter):
    if not _seconds:
        return
    tr = terminalreporter
    tr.section("time per notebook")
    for path, seconds in sorted(_seconds.items(), key=lambda kv: -kv[1]):
        flag = "  OVER THE 3-MINUTE BUDGET" if seconds > BUDGET_SECONDS else ""
        tr.write_line(f"{seconds:8.1f} s  {path}{flag}")
    tr.write_line(f"{sum(_seconds.values()):8.1f} s  in all, {len(_seconds)} notebooks")
    out = Path("build/notebook-times.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({k: round(v, 2) for k, v in sorted(_seconds.items())}, indent=1) + "\n")
