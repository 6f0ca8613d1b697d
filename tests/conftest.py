"""Fixtures: a tiny course tree in a temporary folder, so the tools can be tested on courses that are broken on purpose."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

from tools.course import ROOT


# The tests read the Hub offline from the shared cache beside the checkout (../shared/README.md), as `make test`
# does; set here too so that a bare `pytest` behaves the same. This runs before any test imports huggingface_hub.
_SHARED_CACHE = ROOT.parent / "shared" / "hf-cache" / "hub"
if _SHARED_CACHE.is_dir():
    os.environ.setdefault("HF_HUB_CACHE", str(_SHARED_CACHE))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


TOC = """\
languages:
  en: English
  ko: 한국어
chapters:
  - id: intro
    number: 1
    title: {en: Intro, ko: 소개}
    sections:
      - id: first
        path: chapter1/first.ipynb
        title: {en: First steps, ko: 첫걸음}
"""


def make_notebook(cells: list[tuple[str, str]], executed: bool = True) -> nbformat.NotebookNode:
    """A notebook from (kind, source) pairs; code cells are numbered as a fresh kernel would number them."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    count = 0
    for kind, source in cells:
        if kind == "code":
            count += 1
            nb.cells.append(nbformat.v4.new_code_cell(source, execution_count=count if executed else None))
        else:
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
    return nb


@pytest.fixture
def course(tmp_path: Path):
    """A valid two-language course with one section that exports `course_lib/first.py`; returns its root."""
    from tools import colab, translations

    root = tmp_path / "course"
    (root / "course_lib").mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    (root / "_toctree.yml").write_text(TOC, encoding="utf-8")
    for lang, title, comment in [("en", "First steps", "# add one"), ("ko", "첫걸음", "# 하나를 더합니다")]:
        nb = make_notebook([
            ("markdown", f"# {title}\n\n{colab.badge(lang, 'chapter1/first.ipynb', root)}"),
            ("code", colab.install_cell(root)),
            ("markdown", "Some prose." if lang == "en" else "설명."),
            ("code", "#| default_exp first\n#| export\nimport math"),
            ("code", f'#| export\ndef add_one(x):\n    """Add one."""\n    {comment}\n    return x + 1'),
            ("code", "print(add_one(math.pi))"),
        ])
        path = root / "chapters" / lang / "chapter1" / "first.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
    translations.stamp(root / "chapters/ko/chapter1/first.ipynb", root)
    from tools import export

    export.export(root)
    return root


def edit_cell(path: Path, index: int, source: str) -> None:
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[index].source = source
    nbformat.write(nb, str(path))
