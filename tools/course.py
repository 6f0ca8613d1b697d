"""What every tool needs to know about the course: where things are, the toctree, reading and writing notebooks."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml


ROOT = Path(__file__).resolve().parents[1]
SOURCE_LANG = "en"  # the language course_lib is exported from and translations are made from

# The environment notebooks run in, both when `make execute` stores their outputs and when nbval compares them:
# progress bars off (they are for people, and their timings differ every run), fixed hashing, no fork warnings.
NOTEBOOK_ENV = {
    "TQDM_DISABLE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "PYTHONHASHSEED": "0",
}


@dataclass(frozen=True)
class Section:
    """One notebook of the course, as `_toctree.yml` lists it."""

    id: str
    path: str  # relative to chapters/<lang>/, e.g. "chapter0/setup.ipynb"
    titles: dict[str, str]
    chapter: int

    def file(self, lang: str, root: Path = ROOT) -> Path:
        return root / "chapters" / lang / self.path


def load_toctree(root: Path = ROOT) -> dict:
    """The parsed `_toctree.yml` (checked separately by `tools.toctree`)."""
    with open(root / "_toctree.yml", encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def languages(root: Path = ROOT) -> list[str]:
    """Language codes in the order `_toctree.yml` gives them, the source language first."""
    return list((load_toctree(root).get("languages") or {}).keys())


def sections(root: Path = ROOT) -> list[Section]:
    """Every section in course order."""
    out = []
    for chapter in load_toctree(root).get("chapters") or []:
        for s in chapter.get("sections") or []:
            out.append(Section(s["id"], s["path"], dict(s.get("title") or {}), chapter["number"]))
    return out


def repository_url(root: Path = ROOT) -> str:
    """The repository address, written once in pyproject.toml; badges and install cells derive from it."""
    with open(root / "pyproject.toml", "rb") as f:
        url = tomllib.load(f)["project"]["urls"]["Repository"]
    return url.rstrip("/")


def read_notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write in Jupyter's own layout (one-space indent, sorted keys) so diffs stay small and stable."""
    nbformat.validate(nb)
    text = nbformat.writes(nb) + "\n"
    path.write_text(text, encoding="utf-8")


def cell_source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def relative(path: Path, root: Path = ROOT) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
