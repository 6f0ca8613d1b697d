"""The pytest plugin for notebook tests (`-p tools.nbval_plugin`, as `make test-notebooks` loads it).

1. Kernels run in the environment `make execute` stored the outputs in (tools.course.NOTEBOOK_ENV): nbval's kernels
   inherit this process's environment, so it is set here before any kernel starts.
2. It reports how long each notebook took. The budget is 3 minutes a notebook on 2 CPU cores; this reports, it never
   fails a test (the machines are noisy). The table goes to the terminal and to build/notebook-times.json.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

from tools.course import NOTEBOOK_ENV


BUDGET_SECONDS = 180
_seconds: dict[str, float] = defaultdict(float)


def pytest_configure(config):
    os.environ.update(NOTEBOOK_ENV)


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
