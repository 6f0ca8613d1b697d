"""`make build`: the course as a static website, every language, from the notebooks' stored outputs.

    python -m tools.site [--out _site] [--lang ko ...]

For each language, a Sphinx project is staged in build/site/<lang>/: the language's notebooks (where a translation
is missing, the English notebook with a notice at its top; where it is stale, the translation with a notice), a
landing page whose tables of contents follow _toctree.yml, and the translation-status page. Sphinx (myst-nb,
sphinx-book-theme, site/conf.py) renders each into <out>/<lang>/ with the same page names, so the language switcher
can link a page to itself in every language; <out>/index.html lists the languages. Nothing is executed, no file is
fetched (MathJax and the Colab badge are served from site/_static), and any Sphinx warning fails the build.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import yaml

from tools import translations
from tools.colab import BADGE_IMAGE
from tools.course import ROOT, SOURCE_LANG, languages, load_toctree, read_notebook, sections


SITE = ROOT / "site"


def messages(lang: str, root: Path = ROOT) -> dict[str, str]:
    """The site's own text in `lang`, English where a message is not translated."""
    data = yaml.safe_load((root / "site" / "messages.yml").read_text(encoding="utf-8")) or {}
    return {**data.get(SOURCE_LANG, {}), **(data.get(lang) or {})}


def page_states(lang: str, root: Path = ROOT) -> dict[str, tuple[str, str]]:
    """{section id: (state, detail)}: 'source' for English, else translated / stale / missing."""
    if lang == SOURCE_LANG:
        return {s.id: ("source", "") for s in sections(root)}
    return {sid: (state, detail) for sid, state, detail in translations.status(root).get(lang, [])}


def notice_cell(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(f":::{{note}}\n{text}\n:::")


def stage(lang: str, out: Path, root: Path = ROOT) -> dict[str, str]:
    """Write the Sphinx project of one language into out/<lang>; returns {section id: state}."""
    dest = out / lang
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    shutil.copy(root / "site" / "_static" / "colab-badge.svg", dest / "colab-badge.svg")
    text, states = messages(lang, root), page_states(lang, root)
    for s in sections(root):
        state = states[s.id][0]
        nb = read_notebook(s.file(lang if state != "missing" else SOURCE_LANG, root))
        depth = s.path.count("/")
        badge = "../" * depth + "colab-badge.svg"  # a local copy of the badge: the page fetches nothing
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = cell.source.replace(f"({BADGE_IMAGE})", f"({badge})")
        if state in ("missing", "stale"):
            nb.cells.insert(1, notice_cell(text[state]))
        target = dest / s.path
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(target))
    (dest / "index.md").write_text(index_page(lang, root), encoding="utf-8")
    (dest / "status.md").write_text(status_page(lang, root), encoding="utf-8")
    return {sid: state for sid, (state, _) in states.items()}


def index_page(lang: str, root: Path = ROOT) -> str:
    """The landing page: the course's title and purpose, then one table of contents per chapter."""
    text, toc = messages(lang, root), load_toctree(root)
    lines = [f"# {text['title']}", "", text["intro"], ""]
    for chapter in toc["chapters"]:
        title = chapter["title"].get(lang) or chapter["title"][SOURCE_LANG]
        lines += ["```{toctree}", f":caption: {chapter['number']}. {title}", ":maxdepth: 1", ""]
        lines += [s["path"].removesuffix(".ipynb") for s in chapter["sections"]]
        lines += ["```", ""]
    lines += ["```{toctree}", ":hidden:", "", "status", "```", "", f"[{text['status_title']}](status.md)", ""]
    return "\n".join(lines)


def status_page(lang: str, root: Path = ROOT) -> str:
    """The translation-status table of every translated language, in `lang`."""
    text, toc = messages(lang, root), load_toctree(root)
    titles = {s["id"]: s["title"].get(lang) or s["title"][SOURCE_LANG] for c in toc["chapters"] for s in c["sections"]}
    names = toc["languages"]
    lines = [f"# {text['status_title']}", "", text["status_intro"], ""]
    words = {"translated": text["translated"], "stale": text["stale_state"], "missing": text["missing_state"]}
    for code, rows in translations.status(root).items():
        counts = {k: sum(1 for r in rows if r[1] == k) for k in words}
        lines += [f"## {names[code]} ({code})", "", ", ".join(f"{words[k]}: {v}" for k, v in counts.items()), "",
                  f"| {text['section']} | {text['status']} | {text['detail']} |", "|---|---|---|"]
        lines += [f"| {titles[sid]} | {words[state]} | {detail} |" for sid, state, detail in rows]
        lines.append("")
    return "\n".join(lines)


def landing(out: Path, root: Path = ROOT) -> None:
    """out/index.html: the course in each language."""
    names = load_toctree(root)["languages"]
    items = "\n".join(f'  <li><a href="{code}/index.html" hreflang="{code}" lang="{code}">'
                      f'{html.escape(messages(code, root)["title"])} ({html.escape(name)})</a></li>'
                      for code, name in names.items())
    out.joinpath("index.html").write_text(
        f'<!DOCTYPE html>\n<html lang="{SOURCE_LANG}">\n<head><meta charset="utf-8">\n'
        f'<title>{html.escape(messages(SOURCE_LANG, root)["title"])}</title></head>\n<body>\n<ul>\n{items}\n</ul>\n'
        f'</body>\n</html>\n', encoding="utf-8")


def build(out: Path = ROOT / "_site", langs: list[str] | None = None, root: Path = ROOT) -> None:
    """Stage and render every language (or `langs`) into `out`; raises CalledProcessError on a Sphinx warning."""
    staging = root / "build" / "site"
    names = load_toctree(root)["languages"]
    for lang in langs or languages(root):
        start = time.perf_counter()
        stage(lang, staging, root)
        env = {**os.environ, "COURSE_LANG": lang, "COURSE_LANGUAGES": json.dumps(list(names.items())),
               "COURSE_MESSAGES": json.dumps(messages(lang, root))}
        subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", "-E",
                        "-c", str(root / "site"), str(staging / lang), str(out / lang)], check=True, env=env)
        print(f"{lang}: {out / lang} ({time.perf_counter() - start:.0f} s)")
    shutil.rmtree(out / "jupyter_execute", ignore_errors=True)  # myst-nb's copies of the outputs, beside the pages
    landing(out, root)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_site")
    parser.add_argument("--lang", action="append", help="build only this language (repeatable)")
    args = parser.parse_args(argv)
    try:
        build(args.out, args.lang)
    except subprocess.CalledProcessError:
        print("the site did not build: fix the warnings above (they are errors here)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
