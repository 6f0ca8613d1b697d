"""Exercises: every section ends with at least one, its answer checked, its solution hidden and proven by the tests.

    python -m tools.exercises          # exercises per notebook; exit 1 on a problem (part of `make check`)
    python -m tools.exercises --fix    # hide every solution cell (Colab, JupyterLab and the site)

The mechanism is course_lib.exercises (written in chapter 0): a learner writes an answer in place of None, a cell
calls `check("name", answer, ...)` and says "Not answered yet.", "Correct!" or "Not quite." with a hint. After it, a
hidden cell titled `# @title Solution` (a translation translates the title) computes the solution and calls `prove("name", solution, wrong=...)`,
which raises unless the solution passes the check and the wrong answer does not. The tests execute every notebook,
so every solution and every wrong answer goes through its check in every test run.

The rules this enforces, in every language:
- every notebook has at least one exercise (a `check` call);
- each exercise's check comes first and its `prove` after it, once each, in the same notebook;
- each solution cell is hidden: `cellView: form` for Colab, `jupyter.source_hidden` for JupyterLab, and the tag
  `hide-cell` for the site.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tools.course import ROOT, cell_source, languages, read_notebook, relative, sections, write_notebook


CHECK = re.compile(r"\bcheck\(\s*[\"']([\w.-]+)[\"']")
PROVE = re.compile(r"\bprove\(\s*[\"']([\w.-]+)[\"']")
SOLUTION_TITLE = "# @title "  # Colab's form title: the cell shows only "Solution" until it is opened


def _is_hidden(cell) -> bool:
    return (cell.metadata.get("cellView") == "form" and cell.metadata.get("jupyter", {}).get("source_hidden") is True
            and "hide-cell" in cell.metadata.get("tags", []))


def exercises(path: Path) -> tuple[list[str], list[str]]:
    """(names of the exercises this notebook checks, problems with them)."""
    nb = read_notebook(path)
    name = relative(path)
    checked: dict[str, int] = {}
    proven: set[str] = set()
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        source = cell_source(cell)
        for found in CHECK.findall(source):
            checked.setdefault(found, i)
        proves = PROVE.findall(source)
        if proves and not source.startswith(SOLUTION_TITLE):
            problems.append(f"{name}: cell {i} proves a solution but does not start with '# @title Solution'")
        if proves and not _is_hidden(cell):
            problems.append(f"{name}: cell {i} is a solution but is not hidden; run `python -m tools.exercises --fix`")
        for found in proves:
            if found not in checked:
                problems.append(f"{name}: cell {i} proves {found!r}, which no cell before it checks")
            if found in proven:
                problems.append(f"{name}: cell {i} proves {found!r} a second time")
            proven.add(found)
    problems += [f"{name}: exercise {n!r} (cell {i}) has no solution cell calling prove({n!r}, ...)"
                 for n, i in checked.items() if n not in proven]
    if not checked:
        problems.append(f"{name}: no exercise; every section ends with at least one (check(...) and its solution)")
    return list(checked), problems


def notebooks(root: Path = ROOT) -> list[Path]:
    return [p for lang in languages(root) for s in sections(root) if (p := s.file(lang, root)).exists()]


def check(root: Path = ROOT) -> list[str]:
    """Every problem with the exercises of every notebook, in every language (empty when all is well)."""
    return [p for path in notebooks(root) for p in exercises(path)[1]]


def counts(root: Path = ROOT, lang: str = "en") -> dict[str, int]:
    """Exercises per notebook of one language, in course order."""
    return {relative(s.file(lang, root), root): len(exercises(s.file(lang, root))[0])
            for s in sections(root) if s.file(lang, root).exists()}


def fix(root: Path = ROOT) -> list[str]:
    """Hide every solution cell that is not hidden yet; returns the notebooks changed."""
    changed = []
    for path in notebooks(root):
        nb = read_notebook(path)
        touched = False
        for cell in nb.cells:
            if cell.cell_type == "code" and PROVE.search(cell_source(cell)) and not _is_hidden(cell):
                cell.metadata["cellView"] = "form"
                cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
                cell.metadata["tags"] = sorted(set(cell.metadata.get("tags", [])) | {"hide-cell"})
                touched = True
        if touched:
            write_notebook(nb, path)
            changed.append(relative(path, root))
    return changed


def main(argv: list[str]) -> int:
    if "--fix" in argv:
        print("\n".join(f"hid the solutions of {p}" for p in fix()) or "every solution cell is hidden already")
    per_notebook = counts()
    for path, n in per_notebook.items():
        print(f"{n:3d}  {path}")
    problems = check()
    print(f"{sum(per_notebook.values())} exercises in {len(per_notebook)} English notebooks")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
