"""Check `_toctree.yml`, the one table of contents of the course, against the notebooks on disk.

    python -m tools.toctree        # prints each problem; exit 1 if there is any
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tools.course import ROOT, SOURCE_LANG, load_toctree, relative


# ISO 639-1: the two-letter language codes.
ISO_639_1 = set("""
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el en
eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka
kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl
nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw
ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
""".split())
LANG_CODE = re.compile(r"^(?P<base>[a-z]{2})(-[A-Z]{2})?$")  # "ko", "zh-CN", "pt-BR"
ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def valid_language_code(code: str) -> bool:
    """True for an ISO 639-1 code, optionally with a region: 'ko', 'zh-CN'; False for 'kr', 'eng', 'zh_CN'."""
    m = LANG_CODE.match(code)
    return bool(m) and m["base"] in ISO_639_1


def check(root: Path = ROOT) -> list[str]:
    """Every problem with `_toctree.yml` and the notebooks under chapters/, as messages (empty when all is well)."""
    if not (root / "_toctree.yml").exists():
        return ["_toctree.yml is missing: it lists every chapter and section of the course"]
    try:
        toc = load_toctree(root)
    except Exception as e:  # a YAML syntax error names the line
        return [f"_toctree.yml does not parse: {e}"]
    errors: list[str] = []

    langs = list((toc.get("languages") or {}).keys())
    if not langs or langs[0] != SOURCE_LANG:
        errors.append(f"_toctree.yml: 'languages' must list '{SOURCE_LANG}' first, the language the course is written in")
    for code in langs:
        if not valid_language_code(str(code)):
            errors.append(f"_toctree.yml: language code {code!r} is not ISO 639-1 (two lowercase letters, "
                          "optionally a region: 'ko', 'zh-CN')")
    chapters_dir = root / "chapters"
    for d in sorted(p for p in chapters_dir.iterdir() if p.is_dir()) if chapters_dir.exists() else []:
        if d.name not in langs:
            errors.append(f"chapters/{d.name}/ is not a language listed under 'languages' in _toctree.yml")

    seen_ids: dict[str, str] = {}
    seen_paths: set[str] = set()
    seen_numbers: set[int] = set()
    listed: set[tuple[str, str]] = set()

    def need_id(value, where: str) -> None:
        if not isinstance(value, str) or not ID.match(value):
            errors.append(f"_toctree.yml: {where} needs an 'id' of lowercase letters, digits, '-' or '_' (got {value!r})")
        elif value in seen_ids:
            errors.append(f"_toctree.yml: duplicate id {value!r} (in {where}; first used by {seen_ids[value]})")
        else:
            seen_ids[value] = where

    for ci, chapter in enumerate(toc.get("chapters") or []):
        number = chapter.get("number")
        where = f"chapter {number if number is not None else f'#{ci}'}"
        if not isinstance(number, int) or number in seen_numbers:
            errors.append(f"_toctree.yml: {where} needs a unique integer 'number'")
        seen_numbers.add(number)
        need_id(chapter.get("id"), where)
        ctitles = chapter.get("title") or {}
        chapter_langs: set[str] = set()
        for si, s in enumerate(chapter.get("sections") or []):
            path = s.get("path")
            swhere = f"section {s.get('id', f'#{si}')!r} of {where}"
            need_id(s.get("id"), swhere)
            if not isinstance(path, str) or not path.endswith(".ipynb"):
                errors.append(f"_toctree.yml: {swhere} needs a 'path' to a notebook, e.g. chapter{number}/intro.ipynb")
                continue
            if not path.startswith(f"chapter{number}/"):
                errors.append(f"_toctree.yml: {swhere}: path {path!r} should be under chapter{number}/")
            if path in seen_paths:
                errors.append(f"_toctree.yml: {swhere}: path {path!r} is listed twice")
            seen_paths.add(path)
            if not (root / "chapters" / SOURCE_LANG / path).exists():
                errors.append(f"_toctree.yml: {swhere} lists chapters/{SOURCE_LANG}/{path}, which does not exist")
            titles = s.get("title") or {}
            for lang in langs:
                listed.add((lang, path))
                if (root / "chapters" / lang / path).exists():
                    chapter_langs.add(lang)
                    if not titles.get(lang):
                        errors.append(f"_toctree.yml: {swhere} has no '{lang}' title, but chapters/{lang}/{path} exists")
            for lang in titles:
                if lang not in langs:
                    errors.append(f"_toctree.yml: {swhere} has a title in {lang!r}, which is not under 'languages'")
        for lang in chapter_langs | {SOURCE_LANG}:
            if not ctitles.get(lang):
                errors.append(f"_toctree.yml: {where} has no '{lang}' title")

    for lang in langs:
        for nb in sorted((root / "chapters" / lang).glob("**/*.ipynb")):
            if ".ipynb_checkpoints" in nb.parts:
                continue
            rel = nb.relative_to(root / "chapters" / lang).as_posix()
            if (lang, rel) not in listed:
                errors.append(f"{relative(nb, root)} is not listed in _toctree.yml: add it to its chapter's sections")
    return errors


def main() -> int:
    errors = check()
    for e in errors:
        print(e)
    if not errors:
        print("_toctree.yml: ok")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
