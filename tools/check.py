"""`make check`: the fast structural checks, all of them, before every commit (well under a minute).

    python -m tools.check
"""

from __future__ import annotations

import sys
import time

from tools import colab, execute, exercises, export, toctree, translations


CHECKS = [
    ("toctree", toctree.check),
    ("notebooks stored clean", execute.check),
    ("course_lib in sync with the notebooks", export.check),
    ("translation parity", translations.check),
    ("Colab badges and links", colab.check),
    ("exercises: checked, with hidden proven solutions", exercises.check),
]


def main() -> int:
    failed = 0
    for name, run in CHECKS:
        start = time.perf_counter()
        problems = run()
        mark = "FAIL" if problems else "ok"
        print(f"[{mark:4}] {name} ({time.perf_counter() - start:.1f} s)")
        for p in problems:
            print(f"       {p}")
        failed += bool(problems)
        if problems and name == "toctree":
            print("       (the other checks read _toctree.yml: fix it first)")
            break
    counts = execute.comparison_counts()
    print(f"       English code cells compared by nbval: {counts['exact']} exactly, {counts['within a tolerance']} "
          f"within a stated tolerance, {counts['output ignored']} not compared (reason given), "
          f"{counts['error expected']} expected to raise")
    per_notebook = exercises.counts()
    print(f"       exercises: {sum(per_notebook.values())} in {len(per_notebook)} English notebooks, at least "
          f"{min(per_notebook.values(), default=0)} in each (`python -m tools.exercises` lists them)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
