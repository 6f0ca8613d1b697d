"""Keep translations honest: same cells as English, same code, and a record of which English they translate.

    python -m tools.translations check                 # code parity and records; exit 1 on a problem
    python -m tools.translations status                # per language: translated, stale or missing
    python -m tools.translations stamp NOTEBOOK...     # record that these translations match English as it is now
    python -m tools.translations sync NOTEBOOK...      # copy English outputs (and comment-free code) into them
    python -m tools.translations new-language CODE [NAME]   # scaffold a language (`make new-language LANG=xx`)
    python -m tools.translations translate SECTION LANG     # start translating a section (`make translate`)

A translated notebook has the English notebook's cells in the same order and of the same types; its code cells
equal the English ones once comments are removed, and store the same outputs. Markdown and comments are what
translators change. The notebook's metadata records a hash of each English cell's translatable text (markdown, or
a code cell's comments) at the time of translation: when English changes, the section shows as stale, with the
cells that changed.

Why the outputs must be equal, and why `make test` executes only English: a comment cannot change what a cell does,
so a translation runs exactly the English code (the same tokens once comments are dropped) and produces exactly
the English outputs. nbval checks that the English notebook still produces its stored outputs; this check proves
that the translation stores the same outputs and runs the same code, so nbval on the translation would compare the
same outputs with the same execution. `make test-notebooks LANGS=ko` executes the translations anyway.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
import tokenize
from pathlib import Path

import yaml

from tools import tolerance
from tools.course import (
    ROOT,
    SOURCE_LANG,
    cell_source,
    languages,
    read_notebook,
    relative,
    sections,
    write_notebook,
)


META_KEY = "course"  # notebook.metadata.course.translation = {"source": ..., "source_hash": ..., "cells": [...]}


def split_comments(code: str) -> tuple[str, str]:
    """(code without comments, the comments): 'x = 1  # one' -> ('x = 1', '# one').

    Blank lines and lines left empty are dropped so that translating a comment never changes the code.
    Code that Python's tokenizer rejects (a shell escape, say) is compared as it is.
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return "\n".join(line.rstrip() for line in code.splitlines() if line.strip()), ""
    lines = code.splitlines()
    comments = []
    # Remove comments from the right so that earlier columns stay valid.
    for tok in reversed(tokens):
        if tok.type == tokenize.COMMENT:
            row, col = tok.start
            lines[row - 1] = lines[row - 1][:col]
            comments.append(tok.string)
    stripped = "\n".join(line.rstrip() for line in lines if line.strip())
    return stripped, "\n".join(reversed(comments))


def translatable(cell) -> str:
    """The text of a cell a translator translates: all of a markdown cell, the comments of a code cell."""
    if cell.cell_type == "code":
        return split_comments(cell_source(cell))[1]
    return cell_source(cell)


def cell_hashes(nb) -> list[str]:
    return [hashlib.sha256(translatable(c).encode()).hexdigest()[:12] for c in nb.cells]


def source_hash(hashes: list[str]) -> str:
    return hashlib.sha256(" ".join(hashes).encode()).hexdigest()[:16]


def parity_problems(english, translation, name: str) -> list[str]:
    """Structural differences between an English notebook and its translation."""
    problems, patterns = [], sanitizers()
    if len(english.cells) != len(translation.cells):
        problems.append(f"{name}: {len(translation.cells)} cells, English has {len(english.cells)}; "
                        "a translation keeps every English cell, in order")
    for i, (en, tr) in enumerate(zip(english.cells, translation.cells, strict=False)):
        if en.cell_type != tr.cell_type:
            problems.append(f"{name}: cell {i} is {tr.cell_type}, English cell {i} is {en.cell_type}")
            break  # later cells are misaligned; one message says it
        if en.cell_type == "code":
            en_code, tr_code = split_comments(cell_source(en))[0], split_comments(cell_source(tr))[0]
            if en_code != tr_code:
                problems.append(f"{name}: cell {i} has code that differs from English cell {i} "
                                "(only comments may be translated; copy the English code)")
            elif not same_outputs(en, tr, patterns):
                problems.append(f"{name}: cell {i} stores outputs that differ from English cell {i}; "
                                f"copy them with `python -m tools.translations sync {name}`")
    return problems


SANITIZE_FILE = Path(__file__).with_name("nbval_sanitize.cfg")


def sanitizers(path: Path = SANITIZE_FILE) -> list[tuple[re.Pattern, str]]:
    """The (regex, replacement) pairs of nbval's sanitize file, which `make test-notebooks` applies too."""
    pairs, pattern = [], None
    for line in path.read_text().splitlines():
        if line.startswith("regex:"):
            pattern = re.compile(line[len("regex:"):].strip())
        elif line.startswith("replace:") and pattern is not None:
            pairs.append((pattern, line[len("replace:"):].strip()))
            pattern = None
    return pairs


def same_outputs(english, translation, patterns=None) -> bool:
    """Would nbval accept the translation's stored outputs for the English cell? Equal, or within the tolerance the
    English cell states (tools/tolerance.py)."""
    stored, fresh = stored_outputs(english, patterns), stored_outputs(translation, patterns)
    tol = tolerance.parse(cell_source(english))
    if tol is None or stored is None or fresh is None:
        return stored == fresh
    return tolerance.difference(stored, fresh, tol) is None


def stored_outputs(cell, patterns=None) -> str | None:
    """A code cell's stored outputs as nbval compares them (None for a cell whose output nbval ignores): streams
    joined, images and metadata left out, the sanitizers applied to the text."""
    if any(line.strip() == "# NBVAL_IGNORE_OUTPUT" for line in cell_source(cell).splitlines()):
        return None
    patterns = sanitizers() if patterns is None else patterns

    def clean(text) -> str:
        text = "".join(text) if isinstance(text, list) else str(text)
        for regex, replacement in patterns:
            text = regex.sub(replacement, text)
        return text

    outputs = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream" and outputs and outputs[-1][0] == out.name:
            outputs[-1][1] += "".join(out.text)  # nbval joins consecutive writes to a stream
        elif out.output_type == "stream":
            outputs.append([out.name, "".join(out.text)])
        elif out.output_type == "error":
            outputs.append(["error", out.ename, out.evalue])
        else:  # display_data, execute_result: every representation but images, which nbval does not compare
            outputs.append([out.output_type] + [f"{k}: {v}" for k, v in sorted(out.get("data", {}).items())
                                                 if not k.startswith("image/")])
    return json.dumps([[clean(x) for x in out] for out in outputs], ensure_ascii=False)


def sync(path: Path, root: Path = ROOT) -> list[str]:
    """Copy into a translation the English outputs and execution counts, and the English code of cells whose code
    changed but that have no comments to translate. Returns the cells whose code changed and has comments: a
    translator copies that code and translates its comments."""
    english_path, rel = source_of(path, root)
    english, translation = read_notebook(english_path), read_notebook(path)
    if [c.cell_type for c in english.cells] != [c.cell_type for c in translation.cells]:
        raise SystemExit(f"{rel}: its cells do not match English cell for cell; add or remove cells first\n"
                         + "\n".join(parity_problems(english, translation, rel)))
    todo = []
    for i, (en, tr) in enumerate(zip(english.cells, translation.cells, strict=True)):
        if en.cell_type != "code":
            continue
        en_code, comments = split_comments(cell_source(en))
        if en_code != split_comments(cell_source(tr))[0]:
            if comments:
                todo.append(f"{rel}: cell {i}: the English code changed; copy it and translate its comments")
                continue
            tr.source = en.source
        tr.outputs, tr.execution_count = en.outputs, en.execution_count
    write_notebook(translation, path)
    return todo


def record(translation):
    return (translation.metadata.get(META_KEY) or {}).get("translation")


def check(root: Path = ROOT) -> list[str]:
    """Parity and translation records of every translated notebook (messages; empty when all is well)."""
    problems = []
    for lang in languages(root)[1:]:
        for s in sections(root):
            tr_path, en_path = s.file(lang, root), s.file(SOURCE_LANG, root)
            if not tr_path.exists() or not en_path.exists():
                continue
            name = relative(tr_path, root)
            english, translation = read_notebook(en_path), read_notebook(tr_path)
            problems += parity_problems(english, translation, name)
            rec = record(translation)
            if not rec or "source_hash" not in rec or "cells" not in rec:
                problems.append(f"{name}: no record of the English version it translates; when the translation "
                                f"is done, run `python -m tools.translations stamp {name}`")
    return problems


def status(root: Path = ROOT) -> dict[str, list[tuple[str, str, str]]]:
    """{lang: [(section id, 'translated' | 'stale' | 'missing', detail)]} for every translated language."""
    table = {}
    for lang in languages(root)[1:]:
        rows = []
        for s in sections(root):
            tr_path, en_path = s.file(lang, root), s.file(SOURCE_LANG, root)
            if not tr_path.exists():
                rows.append((s.id, "missing", ""))
                continue
            rec = record(read_notebook(tr_path)) or {}
            now = cell_hashes(read_notebook(en_path))
            if rec.get("source_hash") == source_hash(now):
                rows.append((s.id, "translated", ""))
                continue
            then = rec.get("cells") or []
            changed = [str(i) for i, h in enumerate(now) if i >= len(then) or then[i] != h]
            detail = "English cells changed since: " + ", ".join(changed) if changed else "English cells removed"
            rows.append((s.id, "stale", detail if rec else "never stamped"))
        table[lang] = rows
    return table


def source_of(path: Path, root: Path = ROOT) -> tuple[Path, str]:
    """(the English notebook a translation translates, the translation's path relative to the course)."""
    path = path.resolve()
    lang = path.relative_to((root / "chapters").resolve()).parts[0]
    if lang == SOURCE_LANG:
        raise SystemExit(f"{relative(path, root)} is English: name a translation")
    return root / "chapters" / SOURCE_LANG / path.relative_to((root / "chapters" / lang).resolve()), relative(path, root)


def stamp(path: Path, root: Path = ROOT) -> None:
    """Record in a translated notebook the English version it now translates."""
    path = path.resolve()
    english_path, _ = source_of(path, root)
    rel = english_path.relative_to(root / "chapters" / SOURCE_LANG).as_posix()
    english, translation = read_notebook(english_path), read_notebook(path)
    problems = parity_problems(english, translation, relative(path, root))
    if problems:
        raise SystemExit("\n".join(problems + ["fix these before stamping"]))
    hashes = cell_hashes(english)
    translation.metadata.setdefault(META_KEY, {})["translation"] = {
        "source": f"chapters/{SOURCE_LANG}/{rel}",
        "source_hash": source_hash(hashes),
        "cells": hashes,
    }
    write_notebook(translation, path)


def new_language(code: str, name: str | None = None, root: Path = ROOT) -> list[str]:
    """Add a language: its code and name in _toctree.yml, an English title under every chapter and section for the
    translator to translate (readers see it until then), the site's messages to translate, and a glossary to fill.
    Returns what was done. Comments and layout of _toctree.yml are kept: lines are inserted, nothing rewritten."""
    from tools.toctree import valid_language_code

    if not valid_language_code(code):
        raise SystemExit(f"{code!r} is not an ISO 639-1 code (two lowercase letters, optionally a region: "
                         "'fr', 'pt-BR')")
    if code in languages(root):
        raise SystemExit(f"{code} is already a language of the course")
    name = name or code
    lines = (root / "_toctree.yml").read_text(encoding="utf-8").splitlines()
    out, i, titles = [], 0, 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        if line.startswith("languages:"):  # the block of "  en: English" lines: add ours at its end
            while i + 1 < len(lines) and lines[i + 1].startswith("  ") and ":" in lines[i + 1]:
                i += 1
                out.append(lines[i])
            out.append(f"  {code}: {name}")
        elif flow := re.match(r"^(\s*title:\s*)\{(.*)\}\s*$", line):  # title: {en: ..., ko: ...}
            english = yaml.safe_load("{" + flow[2] + "}")[SOURCE_LANG]
            out[-1] = f"{flow[1]}{{{flow[2]}, {code}: {json.dumps(english, ensure_ascii=False)}}}"
            titles += 1
        elif line.strip() == "title:":  # a block of "lang: title" lines: copy the English one for our language
            indent = len(lines[i + 1]) - len(lines[i + 1].lstrip())
            english = None
            while i + 1 < len(lines) and len(lines[i + 1]) - len(lines[i + 1].lstrip()) == indent and lines[i + 1].strip():
                i += 1
                out.append(lines[i])
                key, _, value = lines[i].strip().partition(":")
                if key == SOURCE_LANG:
                    english = value.strip()
            out.append(" " * indent + f"{code}: {english}")
            titles += 1
        i += 1
    (root / "_toctree.yml").write_text("\n".join(out) + "\n", encoding="utf-8")
    done = [f"_toctree.yml: added {code} ({name}) and {titles} titles, in English until translated"]
    glossary = root / "chapters" / code / "GLOSSARY.md"
    glossary.parent.mkdir(parents=True, exist_ok=True)
    if not glossary.exists():
        glossary.write_text(f"# Glossary ({name})\n\nThe terms this translation uses, one way each. Add a term before "
                            "first using it.\n\n| English | " + name + " | notes |\n|---|---|---|\n", encoding="utf-8")
        done.append(f"chapters/{code}/GLOSSARY.md: a glossary to fill (see chapters/ko/GLOSSARY.md for an example)")
    messages = root / "site" / "messages.yml"
    if messages.exists():
        english = (yaml.safe_load(messages.read_text(encoding="utf-8")) or {}).get(SOURCE_LANG, {})
        block = yaml.safe_dump({code: english}, allow_unicode=True, sort_keys=False, width=110)
        with open(messages, "a", encoding="utf-8") as f:
            f.write(f"# {name}: the English text, to translate\n{block}")
        done.append(f"site/messages.yml: the website's own text, in English, to translate under {code}")
    return done


def start_translation(section_id: str, lang: str, root: Path = ROOT) -> Path:
    """Copy a section's English notebook (outputs included: a translation keeps them) to chapters/<lang>/, with its
    title and Colab badge in that language, and record the English version it starts from, unstamped: until the
    translator stamps it, the status lists every cell as to be done."""
    from tools.colab import badge

    if lang == SOURCE_LANG or lang not in languages(root):
        raise SystemExit(f"{lang!r} is not a translated language of the course; add it with "
                         f"`make new-language LANG={lang}` first")
    section = next((s for s in sections(root) if s.id == section_id), None)
    if section is None:
        raise SystemExit(f"no section {section_id!r} in _toctree.yml; the ids are: "
                         + ", ".join(s.id for s in sections(root)))
    target = section.file(lang, root)
    if target.exists():
        raise SystemExit(f"{relative(target, root)} exists already; `make translation-status` says what changed")
    nb = read_notebook(section.file(SOURCE_LANG, root))
    title = section.titles.get(lang) or section.titles[SOURCE_LANG]
    nb.cells[0].source = f"# {title}\n\n{badge(lang, section.path, root)}"
    nb.metadata.setdefault(META_KEY, {})["translation"] = {
        "source": f"chapters/{SOURCE_LANG}/{section.path}", "source_hash": None, "cells": []}
    target.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(nb, target)
    return target


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    if command == "check":
        problems = check()
        print("\n".join(problems) or "translations: same cells and code as English, every one recorded")
        return 1 if problems else 0
    if command == "status":
        for lang, rows in status().items():
            counts = {k: sum(1 for r in rows if r[1] == k) for k in ("translated", "stale", "missing")}
            print(f"\n## {lang}: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + "\n")
            print("| section | status | detail |\n|---|---|---|")
            for sid, state, detail in rows:
                print(f"| {sid} | {state} | {detail} |")
        return 0
    if command == "sync":
        todo = [line for p in argv[1:] for line in sync(Path(p))]
        print("\n".join(todo) or f"synced {len(argv) - 1} notebook(s) with English")
        return 1 if todo else 0
    if command == "new-language" and len(argv) in (2, 3):
        print("\n".join(new_language(argv[1], argv[2] if len(argv) == 3 else None)))
        return 0
    if command == "translate" and len(argv) == 3:
        target = start_translation(argv[1], argv[2])
        print(f"wrote {relative(target)}: translate its markdown cells and code comments (never code or outputs), "
              f"then `python -m tools.translations stamp {relative(target)}`")
        return 0
    if command == "stamp":
        for p in argv[1:]:
            stamp(Path(p))
            print(f"stamped {p}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
