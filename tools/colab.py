"""Every notebook opens the same way: its title, an "Open in Colab" badge for this very notebook, an install cell.

    python -m tools.colab           # check every notebook (and every Colab link in README.md)
    python -m tools.colab --fix     # rewrite titles' badges and install cells from pyproject.toml

The repository address is written once, in pyproject.toml; badges and install cells derive from it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tools.course import (
    ROOT,
    cell_source,
    languages,
    read_notebook,
    relative,
    repository_url,
    sections,
    write_notebook,
)
from tools.translations import split_comments


BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/(?P<repo>[\w.-]+/[\w.-]+)/blob/(?P<branch>[\w.-]+)/(?P<path>[^)\s\"']+)")
BRANCH = "main"


def github_repo(url: str) -> str:
    """'https://github.com/owner/name' -> 'owner/name'."""
    m = re.match(r"^https://github\.com/([\w.-]+/[\w.-]+?)(\.git)?$", url)
    if not m:
        raise SystemExit(f"pyproject.toml: [project.urls] Repository = {url!r} is not a https://github.com/owner/name address")
    return m[1]


def colab_url(lang: str, path: str, root: Path = ROOT) -> str:
    return f"https://colab.research.google.com/github/{github_repo(repository_url(root))}/blob/{BRANCH}/chapters/{lang}/{path}"


def badge(lang: str, path: str, root: Path = ROOT) -> str:
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(lang, path, root)})"


def install_cell(root: Path = ROOT) -> str:
    """The second cell of every notebook: install course_lib in Colab, do nothing elsewhere."""
    return (
        "# In Colab, install course_lib and its dependencies from the course repository.\n"
        "# Locally, `make install` has already done this.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "course-lib @ git+{repository_url(root)}"'
    )


def _title_line(source: str) -> str:
    return source.splitlines()[0] if source else ""


def problems_in(path: Path, lang: str, section, root: Path = ROOT) -> list[str]:
    name = relative(path, root)
    nb = read_notebook(path)
    out = []
    if len(nb.cells) < 2 or nb.cells[0].cell_type != "markdown" or nb.cells[1].cell_type != "code":
        return [f"{name}: must open with a markdown cell (title and Colab badge), then the install cell"]
    first = cell_source(nb.cells[0])
    title = section.titles.get(lang)
    if title and _title_line(first) != f"# {title}":
        out.append(f"{name}: first line should be '# {title}' (its title in _toctree.yml), not {_title_line(first)!r}")
    if badge(lang, section.path, root) not in first:
        out.append(f"{name}: the first cell lacks its Colab badge {badge(lang, section.path, root)}; "
                   "run `python -m tools.colab --fix`")
    if split_comments(cell_source(nb.cells[1]))[0] != split_comments(install_cell(root))[0]:
        out.append(f"{name}: cell 1 is not the standard install cell; run `python -m tools.colab --fix`")
    return out


def link_problems(text: str, where: str, root: Path = ROOT) -> list[str]:
    """Every Colab link in `text` must point into this repository, on main, at a file that exists."""
    out = []
    repo = github_repo(repository_url(root))
    for m in COLAB_LINK.finditer(text):
        if m["repo"] != repo or m["branch"] != BRANCH:
            out.append(f"{where}: Colab link to {m['repo']}@{m['branch']}, expected {repo}@{BRANCH}: {m[0]}")
        elif not (root / m["path"]).is_file():
            out.append(f"{where}: Colab link to {m['path']}, which does not exist")
    return out


def check(root: Path = ROOT) -> list[str]:
    out = []
    for lang in languages(root):
        for s in sections(root):
            path = s.file(lang, root)
            if path.exists():
                out += problems_in(path, lang, s, root)
                nb = read_notebook(path)
                for i, cell in enumerate(nb.cells):
                    if cell.cell_type == "markdown":
                        out += link_problems(cell_source(cell), f"{relative(path, root)} cell {i}", root)
    for doc in sorted(root.glob("*.md")):
        out += link_problems(doc.read_text(encoding="utf-8"), doc.name, root)
    return out


def fix(root: Path = ROOT) -> list[str]:
    """Put the badge right after the title and the install cell second, in every notebook."""
    changed = []
    for lang in languages(root):
        for s in sections(root):
            path = s.file(lang, root)
            if not path.exists():
                continue
            nb = read_notebook(path)
            lines = cell_source(nb.cells[0]).splitlines()
            kept = [line for line in lines[1:] if not COLAB_LINK.search(line)]
            while kept and not kept[0].strip():
                kept.pop(0)
            head = [f"# {s.titles.get(lang, s.id)}", "", badge(lang, s.path, root)]
            nb.cells[0].source = "\n".join(head + ([""] + kept if kept else []))
            if split_comments(cell_source(nb.cells[1]))[0] != split_comments(install_cell(root))[0]:
                if nb.cells[1].cell_type == "code" and "google.colab" in cell_source(nb.cells[1]):
                    nb.cells[1].source = install_cell(root)
                else:
                    import nbformat

                    nb.cells.insert(1, nbformat.v4.new_code_cell(install_cell(root)))
            before = path.read_text(encoding="utf-8")
            write_notebook(nb, path)
            if path.read_text(encoding="utf-8") != before:
                changed.append(relative(path, root))
    return changed


def main(argv: list[str]) -> int:
    if "--fix" in argv:
        print("\n".join(f"fixed {p}" for p in fix()) or "Colab badges and install cells: nothing to fix")
        return 0
    problems = check()
    print("\n".join(problems) or "Colab badges, install cells and links: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
