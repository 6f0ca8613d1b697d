"""The course as it stands: structure, sync and the guarantees `make test` gives, checked on the real tree."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools import export, translations
from tools.course import ROOT, languages, sections


CHAPTER0 = ROOT / "chapters/en/chapter0/setup.ipynb"


def test_korean_ships_with_english():
    """Every section exists in Korean, translating the English as it is now (`make translation-status`)."""
    assert "ko" in languages()
    assert translations.status()["ko"] == [(s.id, "translated", "") for s in sections()]


def test_course_lib_never_imports_transformers():
    for path in (ROOT / "course_lib").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "transformers" for n in names), f"{path.name} imports transformers"


def test_every_generated_module_points_back_to_an_english_notebook():
    for path in export.generated_on_disk():
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        notebook = doc.split("the code written in ")[1].split(".ipynb")[0] + ".ipynb"
        assert (ROOT / notebook).exists() and notebook.startswith("chapters/en/")


def _nbval(notebook: Path) -> subprocess.CompletedProcess:
    """Run the Makefile's own notebook test on one notebook, as `make test` would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    return subprocess.run(["make", "-s", "test-notebooks", f"NB={notebook}", f"PY={sys.executable}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def chapter0_copy(tmp_path):
    """Chapter 0 copied where nbval runs it exactly as in place (the same folder depth is not needed)."""
    copy = tmp_path / "setup.ipynb"
    shutil.copy(CHAPTER0, copy)
    return copy


def _first_printing_cell(nb) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs)


def test_the_stored_notebook_passes_strict_nbval(chapter0_copy):
    result = _nbval(chapter0_copy)
    assert result.returncode == 0, result.stdout[-3000:]


def test_a_deleted_output_fails_strict_nbval(chapter0_copy):
    nb = nbformat.read(str(chapter0_copy), as_version=4)
    nb.cells[_first_printing_cell(nb)].outputs = []
    nbformat.write(nb, str(chapter0_copy))
    result = _nbval(chapter0_copy)
    assert result.returncode != 0 and "Unexpected output fields" in result.stdout


def test_a_printed_value_changed_without_re_running_fails_strict_nbval(chapter0_copy):
    nb = nbformat.read(str(chapter0_copy), as_version=4)
    cell = nb.cells[_first_printing_cell(nb)]
    cell.outputs[0].text = cell.outputs[0].text.replace("2.13.0", "2.14.0")
    nbformat.write(nb, str(chapter0_copy))
    result = _nbval(chapter0_copy)
    assert result.returncode != 0 and "2.14.0" in result.stdout


def test_course_lib_never_imports_a_reference_implementation():
    """transformers, peft, sacrebleu, seqeval and sentencepiece check course_lib in the tests; course_lib itself
    runs without them (README: a learner installs only its runtime dependencies)."""
    references = {"transformers", "peft", "sacrebleu", "seqeval", "sentencepiece"}
    for path in sorted((ROOT / "course_lib").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not {name.split(".")[0] for name in names} & references, f"{path.name} imports {names}"
