"""Run notebooks top to bottom in a fresh kernel and store their outputs: the only way outputs get into the course.

    python -m tools.execute chapters/en/chapter0/setup.ipynb ...   # `make execute NB=...`
    python -m tools.execute --all                                  # every notebook of every language
    python -m tools.execute --check                                # are the stored notebooks clean? (no run)

The kernel is this Python environment's own, in the environment nbval tests with (tools.course.NOTEBOOK_ENV), in
the notebook's folder. Metadata that changes from run to run (timings, kernel versions) is not stored.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import ipykernel.kernelspec
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

from tools import tolerance
from tools.course import NOTEBOOK_ENV, ROOT, languages, read_notebook, relative, sections, write_notebook


KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
CELL_METADATA_DROPPED = ("execution", "collapsed", "scrolled", "ExecuteTime")


class CurrentEnvKernelSpecs(KernelSpecManager):
    """Always this interpreter's ipykernel, whatever kernels are installed elsewhere on the machine."""

    def get_kernel_spec(self, kernel_name):
        return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict())


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Keep only what a reader needs and what stays the same between runs."""
    course = nb.metadata.get("course")
    nb.metadata = nbformat.NotebookNode(kernelspec=KERNELSPEC, language_info={"name": "python"})
    if course:
        nb.metadata["course"] = course
    for cell in nb.cells:
        for key in CELL_METADATA_DROPPED:
            cell.metadata.pop(key, None)
    return nb


def execute(path: Path, timeout: int = 600) -> float:
    """Run one notebook in a fresh kernel, store its outputs, and return the seconds it took."""
    nb = read_notebook(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    env = {**os.environ, **NOTEBOOK_ENV}
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        kernel_manager_kwargs={"kernel_spec_manager": CurrentEnvKernelSpecs()},
    )
    start = time.perf_counter()
    saved = dict(os.environ)
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    seconds = time.perf_counter() - start
    write_notebook(clean(nb), path)
    return seconds


def all_notebooks(root: Path = ROOT) -> list[Path]:
    return [s.file(lang, root) for lang in languages(root) for s in sections(root) if s.file(lang, root).exists()]


def check(root: Path = ROOT) -> list[str]:
    """Stored notebooks must look freshly run: every code cell executed once, in order, with no error and no timing."""
    problems = []
    for path in all_notebooks(root):
        name = relative(path, root)
        nb = read_notebook(path)
        expected = 1
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if not cell.source.strip():
                problems.append(f"{name}: cell {i} is an empty code cell; delete it")
            if cell.execution_count != expected:
                problems.append(f"{name}: cell {i} has execution count {cell.execution_count}, expected {expected}: "
                                f"re-run the notebook in a fresh kernel with `make execute NB={name}`")
                break
            expected += 1
            if "NBVAL_SKIP" in cell.source:
                problems.append(f"{name}: cell {i} is marked NBVAL_SKIP; every cell of the course runs in the tests")
            lines = [line.strip() for line in cell.source.splitlines()]
            for n, line in enumerate(lines):
                # nbval honours the marker only when it is the whole comment, so the reason goes on the next line.
                if "NBVAL_IGNORE_OUTPUT" in line and (
                        line != "# NBVAL_IGNORE_OUTPUT" or n + 1 >= len(lines)
                        or not tolerance.REASON.match(lines[n + 1])):
                    problems.append(f"{name}: cell {i} must say `# NBVAL_IGNORE_OUTPUT` alone on a line, followed by a "
                                    "comment line saying why this output cannot be the same twice")
            try:
                tolerance.parse(cell.source)
            except ValueError as e:
                problems.append(f"{name}: cell {i}: {e}")
            if any(o.output_type == "error" for o in cell.outputs) and "NBVAL_RAISES_EXCEPTION" not in cell.source:
                problems.append(f"{name}: cell {i} stores an error; fix it or mark it `# NBVAL_RAISES_EXCEPTION`")
            if any(k in cell.metadata for k in CELL_METADATA_DROPPED):
                problems.append(f"{name}: cell {i} stores run metadata; run `make execute NB={name}`")
        if set(nb.metadata) - {"kernelspec", "language_info", "course"}:
            problems.append(f"{name}: notebook metadata has {sorted(set(nb.metadata))}; run `make execute NB={name}`")
    return problems


def comparison_counts(root: Path = ROOT, lang: str = "en") -> dict[str, int]:
    """How nbval compares the code cells of a language's notebooks: exactly, within a stated tolerance, or not at
    all (a reason is given), or expecting an error."""
    counts = {"exact": 0, "within a tolerance": 0, "output ignored": 0, "error expected": 0}
    for s in sections(root):
        path = s.file(lang, root)
        if not path.exists():
            continue
        for cell in read_notebook(path).cells:
            if cell.cell_type != "code":
                continue
            lines = [line.strip() for line in cell.source.splitlines()]
            if "# NBVAL_IGNORE_OUTPUT" in lines:
                counts["output ignored"] += 1
            elif any(line.startswith(f"# {tolerance.MARKER}") for line in lines):
                counts["within a tolerance"] += 1
            elif "# NBVAL_RAISES_EXCEPTION" in lines:
                counts["error expected"] += 1
            else:
                counts["exact"] += 1
    return counts


def main(argv: list[str]) -> int:
    if "--check" in argv:
        problems = check()
        print("\n".join(problems) or "notebooks: stored as a fresh kernel ran them")
        return 1 if problems else 0
    paths = all_notebooks() if "--all" in argv else [Path(a) for a in argv if not a.startswith("-")]
    if not paths:
        print(__doc__)
        return 2
    for path in paths:
        print(f"{relative(path)}: running...", flush=True)
        seconds = execute(path.resolve())
        print(f"{relative(path)}: {seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
