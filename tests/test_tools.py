"""The course-maintenance tools catch what they promise to catch, on small courses broken on purpose."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import edit_cell, make_notebook

from tools import colab, execute, export, toctree, translations


def test_a_valid_course_passes_every_check(course):
    assert toctree.check(course) == []
    assert export.check(course) == []
    assert translations.check(course) == []
    assert colab.check(course) == []
    assert execute.check(course) == []


# --- _toctree.yml ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code, ok", [("ko", True), ("zh-CN", True), ("pt-BR", True), ("jp", False), ("cn", False), ("eng", False),
                                      ("zh_CN", False), ("KO", False), ("zh-cn", False), ("", False)])
def test_language_codes_are_iso_639_1(code, ok):
    assert toctree.valid_language_code(code) is ok


def test_toctree_reports_a_listed_notebook_that_does_not_exist(course):
    (course / "chapters/en/chapter1/first.ipynb").unlink()
    assert any("chapters/en/chapter1/first.ipynb, which does not exist" in e for e in toctree.check(course))


def test_toctree_reports_a_notebook_that_is_not_listed(course):
    nbformat.write(make_notebook([("markdown", "# Stray")]), str(course / "chapters/en/chapter1/stray.ipynb"))
    assert any("stray.ipynb is not listed" in e for e in toctree.check(course))


def test_toctree_reports_duplicate_ids(course):
    toc = (course / "_toctree.yml").read_text()
    (course / "_toctree.yml").write_text(toc.replace("id: first", "id: intro"))
    assert any("duplicate id 'intro'" in e for e in toctree.check(course))


def test_toctree_reports_a_bad_language_code(course):
    toc = (course / "_toctree.yml").read_text()
    (course / "_toctree.yml").write_text(toc.replace("  ko: 한국어", "  ko: 한국어\n  jp: Japanese?"))
    assert any("'jp' is not ISO 639-1" in e for e in toctree.check(course))


def test_toctree_reports_a_missing_title_for_a_language_that_has_the_notebook(course):
    toc = (course / "_toctree.yml").read_text()
    (course / "_toctree.yml").write_text(toc.replace("{en: First steps, ko: 첫걸음}", "{en: First steps}"))
    assert any("has no 'ko' title, but chapters/ko/chapter1/first.ipynb exists" in e for e in toctree.check(course))


def test_toctree_reports_an_unlisted_language_folder(course):
    (course / "chapters/fr").mkdir()
    assert any("chapters/fr/ is not a language listed" in e for e in toctree.check(course))


def test_toctree_reports_yaml_that_does_not_parse(course):
    (course / "_toctree.yml").write_text("chapters: [\n")
    assert "does not parse" in toctree.check(course)[0]


# --- course_lib is exported from the notebooks ----------------------------------------------------------------

def test_export_writes_the_module_with_a_header_naming_the_notebook(course):
    text = (course / "course_lib/first.py").read_text()
    assert "chapters/en/chapter1/first.ipynb" in text and export.MARKER in text
    assert "def add_one(x):" in text and "\n#| export" not in text and "print(add_one" not in text
    namespace: dict = {}
    exec(compile(text, "first.py", "exec"), namespace)
    assert namespace["add_one"](1) == 2


def test_changing_an_exported_cell_without_make_lib_fails_the_check(course):
    edit_cell(course / "chapters/en/chapter1/first.ipynb", 4, '#| export\ndef add_one(x):\n    """Add one."""\n    return x + 2')
    assert export.check(course) == ["course_lib/first.py differs from its notebook: run `make lib`"]
    export.export(course)
    assert export.check(course) == []
    assert "return x + 2" in (course / "course_lib/first.py").read_text()


def test_editing_the_generated_module_by_hand_fails_the_check(course):
    path = course / "course_lib/first.py"
    path.write_text(path.read_text() + "\nx = 1\n")
    assert export.check(course)


def test_a_module_whose_notebook_no_longer_exports_is_removed(course):
    (course / "course_lib/old.py").write_text(f'"""{export.MARKER} from a deleted notebook."""\n')
    (course / "course_lib/handwritten.py").write_text('"""Written by hand."""\n')
    assert any("old.py is generated but no notebook exports it" in e for e in export.check(course))
    export.export(course)
    assert not (course / "course_lib/old.py").exists() and (course / "course_lib/handwritten.py").exists()


def test_export_requires_a_docstring_on_public_functions(course):
    edit_cell(course / "chapters/en/chapter1/first.ipynb", 4, "#| export\ndef add_one(x):\n    return x + 1")
    assert "add_one is exported without a docstring" in export.check(course)[0]


def test_export_requires_a_module_name(course):
    edit_cell(course / "chapters/en/chapter1/first.ipynb", 3, "#| export\nimport math")
    assert "no `#| default_exp <module>` cell" in export.check(course)[0]


def test_a_cell_can_export_to_a_second_named_module(course):
    edit_cell(course / "chapters/en/chapter1/first.ipynb", 5, '#| export second\ndef two():\n    """Two."""\n    return 2')
    assert export.check(course) == ["course_lib/second.py differs from its notebook: run `make lib`"]
    export.export(course)
    second, first = (course / "course_lib/second.py").read_text(), (course / "course_lib/first.py").read_text()
    assert "def two():" in second and "chapters/en/chapter1/first.ipynb" in second and "def two" not in first
    edit_cell(course / "chapters/en/chapter1/first.ipynb", 5, "#| export Not-A-Module\nx = 1")
    assert "`#| export Not-A-Module` is not a Python module name" in export.check(course)[0]
    edit_cell(course / "chapters/en/chapter1/first.ipynb", 5, '#| export first\nx = 1')
    assert "names the notebook's own module" in export.check(course)[0]


def _append_cells(path, *sources):
    nb = nbformat.read(str(path), as_version=4)
    nb.cells += [nbformat.v4.new_code_cell(src) for src in sources]
    nbformat.write(nb, str(path))


def test_a_class_grown_across_cells_is_exported_as_one_class(course):
    path = course / "chapters/en/chapter1/first.ipynb"
    _append_cells(path,
                  '#| export\nclass Greeter:\n    """Says hello."""\n\n    def hello(self):\n        return "hello"\n\n\nN = 1',
                  "print(Greeter().hello())",
                  "#| export\nclass Greeter(Greeter):  # the class so far, and one more method\n"
                  '    def bye(self):\n        return self.hello() + ", bye"')
    export.export(course)
    text = (course / "course_lib/first.py").read_text()
    assert text.count("class Greeter") == 1 and "Greeter(Greeter)" not in text
    assert "    # %% chapters/en/chapter1/first.ipynb cell 8\n    def bye(self):" in text
    namespace: dict = {}
    exec(compile(text, "first.py", "exec"), namespace)
    assert namespace["Greeter"]().bye() == "hello, bye" and namespace["N"] == 1
    assert text.index("def bye") < text.index("N = 1")  # the body went into the class, not after the cell


def test_a_continued_class_needs_an_earlier_class_and_no_docstring(course):
    path = course / "chapters/en/chapter1/first.ipynb"
    _append_cells(path, "#| export\nclass Nobody(Nobody):\n    def f(self):\n        return 1")
    assert "continues class Nobody, which no earlier exported cell of this notebook defines" in export.check(course)[0]
    edit_cell(path, 6, '#| export\nclass Greeter:\n    """Says hello."""')
    _append_cells(path, '#| export\nclass Greeter(Greeter):\n    """Again."""\n    x = 1')
    assert any("takes no docstring" in e for e in export.check(course))


def test_directives_are_split_from_code():
    assert export.directives("#| default_exp hub\n#| export\nimport os") == ({"default_exp": "hub", "export": ""}, "import os")
    assert export.directives("x = 1  #| not a directive") == ({}, "x = 1  #| not a directive")


# --- translations ---------------------------------------------------------------------------------------------

def test_split_comments_keeps_code_and_collects_comments():
    code = 'x = "# not a comment"  # a comment\n# a whole line\ny = 2\n'
    assert translations.split_comments(code) == ('x = "# not a comment"\ny = 2', "# a comment\n# a whole line")


def test_a_code_change_in_a_translation_fails_parity(course):
    edit_cell(course / "chapters/ko/chapter1/first.ipynb", 5, "print(add_one(math.e))")
    assert translations.check(course) == ["chapters/ko/chapter1/first.ipynb: cell 5 has code that differs from "
                                          "English cell 5 (only comments may be translated; copy the English code)"]


def test_translated_comments_keep_parity(course):
    edit_cell(course / "chapters/ko/chapter1/first.ipynb", 5, "# 파이를 출력합니다\nprint(add_one(math.pi))  # 결과")
    assert translations.check(course) == []


def test_a_missing_or_reordered_cell_fails_parity(course):
    path = course / "chapters/ko/chapter1/first.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[2], nb.cells[3] = nb.cells[3], nb.cells[2]
    nbformat.write(nb, str(path))
    assert "cell 2 is code, English cell 2 is markdown" in translations.check(course)[0]
    del nb.cells[-1]
    nbformat.write(nb, str(path))
    assert "5 cells, English has 6" in translations.check(course)[0]


def set_outputs(path: Path, index: int, *texts: str, source: str | None = None) -> None:
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[index].outputs = [nbformat.v4.new_output("stream", name="stdout", text=t) for t in texts]
    if source is not None:
        nb.cells[index].source = source
    nbformat.write(nb, str(path))


def test_a_translation_must_store_the_english_outputs_as_nbval_compares_them(course):
    en, ko = course / "chapters/en/chapter1/first.ipynb", course / "chapters/ko/chapter1/first.ipynb"
    set_outputs(en, 5, "4.141592653589793\ntook 1.5 s\n")
    set_outputs(ko, 5, "4.141592653589793\n", "took 2.25 s\n")  # split writes and another timing: the same to nbval
    assert translations.check(course) == []
    set_outputs(ko, 5, "4.14\ntook 1.5 s\n")
    assert translations.check(course) == [
        "chapters/ko/chapter1/first.ipynb: cell 5 stores outputs that differ from English cell 5; copy them with "
        "`python -m tools.translations sync chapters/ko/chapter1/first.ipynb`"]
    # A cell whose output nbval ignores may differ.
    for path, text in [(en, "1"), (ko, "2")]:
        set_outputs(path, 5, text, source="# NBVAL_IGNORE_OUTPUT\n# Why: random\nprint(add_one(math.pi))")
    assert translations.check(course) == []


def test_sync_copies_english_outputs_and_uncommented_code_and_lists_code_to_translate(course):
    en, ko = course / "chapters/en/chapter1/first.ipynb", course / "chapters/ko/chapter1/first.ipynb"
    set_outputs(en, 5, "2.718281828459045\n", source="print(add_one(math.e) - 1)")
    edit_cell(en, 4, '#| export\ndef add_one(x):\n    """Add one."""\n    # add one\n    return 1 + x')
    assert len(translations.check(course)) == 2
    todo = translations.sync(ko, course)
    assert todo == ["chapters/ko/chapter1/first.ipynb: cell 4: the English code changed; copy it and translate its "
                    "comments"]
    cells = nbformat.read(str(ko), as_version=4).cells
    assert cells[5].source == "print(add_one(math.e) - 1)" and cells[5].outputs[0].text == "2.718281828459045\n"
    assert "# 하나를 더합니다" in cells[4].source  # left for the translator
    assert translations.check(course) == ["chapters/ko/chapter1/first.ipynb: cell 4 has code that differs from "
                                          "English cell 4 (only comments may be translated; copy the English code)"]


def test_a_translation_without_a_record_fails(course):
    path = course / "chapters/ko/chapter1/first.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    del nb.metadata["course"]
    nbformat.write(nb, str(path))
    assert "no record of the English version it translates" in translations.check(course)[0]


def test_status_is_translated_then_stale_with_the_changed_cells_then_missing(course):
    assert translations.status(course) == {"ko": [("first", "translated", "")]}
    edit_cell(course / "chapters/en/chapter1/first.ipynb", 2, "Some better prose.")
    assert translations.status(course) == {"ko": [("first", "stale", "English cells changed since: 2")]}
    # A change to English code (not comments) does not make a translation stale: parity catches it instead.
    edit_cell(course / "chapters/en/chapter1/first.ipynb", 5, "print(add_one(math.e))")
    assert translations.status(course)["ko"][0][2] == "English cells changed since: 2"
    (course / "chapters/ko/chapter1/first.ipynb").unlink()
    assert translations.status(course) == {"ko": [("first", "missing", "")]}


# --- Colab badges and install cells ---------------------------------------------------------------------------

def test_colab_badge_points_to_the_notebook_in_its_own_language(course):
    url = colab.colab_url("ko", "chapter1/first.ipynb", course)
    assert url == "https://colab.research.google.com/github/transformers-from-scratch/course/blob/main/chapters/ko/chapter1/first.ipynb"


def test_colab_reports_a_wrong_or_dangling_badge_and_fix_repairs_it(course):
    path = course / "chapters/ko/chapter1/first.ipynb"
    wrong = colab.badge("en", "chapter1/first.ipynb", course)
    edit_cell(path, 0, f"# 첫걸음\n\n{wrong}")
    assert any("lacks its Colab badge" in p for p in colab.check(course))
    edit_cell(path, 0, f"# 첫걸음\n\n{colab.badge('ko', 'chapter9/nowhere.ipynb', course)}")
    assert any("chapters/ko/chapter9/nowhere.ipynb, which does not exist" in p for p in colab.check(course))
    assert colab.fix(course) == ["chapters/ko/chapter1/first.ipynb"]
    assert colab.check(course) == []


def test_colab_reports_a_title_that_differs_from_the_toctree(course):
    edit_cell(course / "chapters/en/chapter1/first.ipynb", 0, f"# Wrong\n\n{colab.badge('en', 'chapter1/first.ipynb', course)}")
    assert any("first line should be '# First steps'" in p for p in colab.check(course))


def test_colab_reports_a_changed_install_cell(course):
    edit_cell(course / "chapters/en/chapter1/first.ipynb", 1, "%pip install course-lib")
    assert any("not the standard install cell" in p for p in colab.check(course))


def test_colab_links_in_readme_must_point_to_existing_files(course):
    (course / "README.md").write_text(f"[open]({colab.colab_url('en', 'chapter3/gone.ipynb', course)})")
    assert any("README.md: Colab link to chapters/en/chapter3/gone.ipynb" in p for p in colab.check(course))


# --- notebooks are stored as a fresh kernel ran them ----------------------------------------------------------

def test_a_notebook_run_out_of_order_or_never_run_is_reported(course):
    path = course / "chapters/en/chapter1/first.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[5].execution_count = 7
    nbformat.write(nb, str(path))
    assert "execution count 7, expected 4" in execute.check(course)[0]
    nbformat.write(make_notebook([("code", "print(1)")], executed=False), str(path))
    assert "execution count None, expected 1" in execute.check(course)[0]


def test_clean_drops_run_metadata():
    nb = make_notebook([("code", "1")])
    nb.metadata["widgets"] = {}
    nb.cells[0].metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    execute.clean(nb)
    assert set(nb.metadata) == {"kernelspec", "language_info"} and nb.cells[0].metadata == {}


# --- benchmark harness ----------------------------------------------------------------------------------------

def test_bench_ratio_is_above_one_when_we_are_faster_whatever_the_unit():
    from tools.bench import Result

    assert Result("throughput", 200.0, "tokens/s", reference=100.0).ratio == 2.0
    assert Result("latency", 0.5, "s", reference=1.0, higher_is_better=False).ratio == 2.0
    assert Result("no reference", 1.0, "GFLOP/s").ratio is None


def test_bench_table_and_json(tmp_path, capsys):
    from tools import bench

    bench.BENCHMARKS["fake"] = lambda: [bench.Result("fake row", 3.0, "it/s", reference=1.5, reference_name="ref")]
    try:
        assert bench.main(["--only", "fake", "--json", str(tmp_path / "b.json")]) == 0
    finally:
        del bench.BENCHMARKS["fake"]
    out = capsys.readouterr().out
    assert "| fake row | 3.0 it/s | 1.5 it/s (ref) | 2.00× |" in out
    import json

    saved = json.loads((tmp_path / "b.json").read_text())
    assert saved["results"][0]["ratio"] == 2.0 and saved["results"][0]["reference_name"] == "ref"


def test_ignoring_an_output_needs_a_reason_and_skipping_a_cell_is_not_allowed(course):
    path = course / "chapters/en/chapter1/first.ipynb"
    edit_cell(path, 5, "# NBVAL_IGNORE_OUTPUT\nprint(add_one(math.pi))")
    assert "followed by a comment line saying why" in execute.check(course)[0]
    # nbval ignores a marker with anything after it, so "marker: reason" would silently compare the output.
    edit_cell(path, 5, "# NBVAL_IGNORE_OUTPUT: a wall-clock time\nprint(add_one(math.pi))")
    assert "alone on a line" in execute.check(course)[0]
    edit_cell(path, 5, "# NBVAL_IGNORE_OUTPUT\n# Why: a wall-clock time.\nprint(add_one(math.pi))")
    assert execute.check(course) == []
    edit_cell(path, 5, "# NBVAL_SKIP\nprint(add_one(math.pi))")
    assert "NBVAL_SKIP" in execute.check(course)[0]


# --- the translator's commands --------------------------------------------------------------------------------

def test_new_language_adds_the_code_the_titles_and_a_glossary(course):
    done = translations.new_language("fr", "Français", course)
    toc = (course / "_toctree.yml").read_text(encoding="utf-8")
    assert "  fr: Français" in toc and 'fr: "Intro"' in toc and 'fr: "First steps"' in toc
    assert toctree.check(course) == [] and (course / "chapters/fr/GLOSSARY.md").exists()
    assert "2 titles" in done[0]
    assert translations.status(course)["fr"] == [("first", "missing", "")]


@pytest.mark.parametrize("code, message", [("xx", "not an ISO 639-1 code"), ("zh_CN", "not an ISO 639-1 code"),
                                           ("ko", "already a language")])
def test_new_language_refuses_a_bad_or_existing_code(course, code, message):
    with pytest.raises(SystemExit, match=message):
        translations.new_language(code, root=course)


def test_translate_starts_from_english_and_status_lists_every_cell_until_stamped(course):
    translations.new_language("fr", "Français", course)
    path = translations.start_translation("first", "fr", course)
    nb = nbformat.read(str(path), as_version=4)
    assert nb.cells[0].source.startswith("# First steps\n\n[![Open In Colab]") and "chapters/fr/" in nb.cells[0].source
    assert translations.check(course) == [] and colab.check(course) == []
    state, detail = translations.status(course)["fr"][0][1:]
    assert state == "stale" and detail == "English cells changed since: 0, 1, 2, 3, 4, 5"
    translations.stamp(path, course)
    assert translations.status(course)["fr"] == [("first", "translated", "")]
    with pytest.raises(SystemExit, match="exists already"):
        translations.start_translation("first", "fr", course)
    with pytest.raises(SystemExit, match="no section 'nope'"):
        translations.start_translation("nope", "fr", course)
    with pytest.raises(SystemExit, match="make new-language LANG=de"):
        translations.start_translation("first", "de", course)


# --- the website ----------------------------------------------------------------------------------------------

def _with_site(course: Path) -> Path:
    import shutil

    from tools.course import ROOT

    (course / "site" / "_static").mkdir(parents=True)
    shutil.copy(ROOT / "site" / "messages.yml", course / "site" / "messages.yml")
    shutil.copy(ROOT / "site" / "_static" / "colab-badge.svg", course / "site" / "_static" / "colab-badge.svg")
    return course


def _staged_cells(staging: Path, lang: str) -> list:
    return nbformat.read(str(staging / lang / "chapter1" / "first.ipynb"), as_version=4).cells


def test_the_site_shows_english_with_a_notice_where_a_translation_is_missing_or_stale(course, tmp_path):
    from tools import site

    _with_site(course)
    staging = tmp_path / "staging"
    assert site.stage("ko", staging, course) == {"first": "translated"}
    cells = _staged_cells(staging, "ko")
    assert cells[0].source.startswith("# 첫걸음") and "note" not in cells[1].source
    assert "(../colab-badge.svg)" in cells[0].source  # the badge is served with the site, not fetched
    edit_cell(course / "chapters/en/chapter1/first.ipynb", 2, "Some better prose.")
    assert site.stage("ko", staging, course) == {"first": "stale"}
    assert _staged_cells(staging, "ko")[1].source.startswith(":::{note}\n이 페이지를 번역한 뒤 영어 원문이 바뀌었습니다")
    (course / "chapters/ko/chapter1/first.ipynb").unlink()
    assert site.stage("ko", staging, course) == {"first": "missing"}
    cells = _staged_cells(staging, "ko")
    assert cells[0].source.startswith("# First steps") and cells[3].source == "Some better prose."
    assert cells[1].source == ":::{note}\n이 페이지는 아직 한국어로 번역되지 않았습니다. 영어 원문을 보여 드립니다.\n:::"
    index, status = (staging / "ko" / "index.md").read_text(), (staging / "ko" / "status.md").read_text()
    assert ":caption: 1. 소개" in index and "chapter1/first" in index
    assert "| 첫걸음 | 없음 |" in status


def test_the_browser_checks_catch_a_page_without_switcher_figure_formula_or_korean(tmp_path):
    from tools import site_test

    (tmp_path / "en" / "chapter3").mkdir(parents=True)
    (tmp_path / "en" / "chapter3" / "attention.html").write_text("<html></html>")
    good = ('<a class="course-language" lang="en" hreflang="en" href="../../en/chapter3/attention.html">English</a>'
            '<img alt="" src="../_images/abc.png"><mjx-container class="MathJax"></mjx-container><p>어텐션입니다</p>')
    needs = ["figure", "formula", "korean"]
    assert site_test.check_page("ko/chapter3/attention.html", good, tmp_path, needs) == []
    assert len(site_test.check_page("ko/chapter3/attention.html", "<p>nothing</p>", tmp_path, needs)) == 4
    wrong = good.replace("../../en/chapter3/attention.html", "../../en/index.html")
    assert "the switcher leads to en/index.html" in site_test.check_page("ko/chapter3/attention.html", wrong,
                                                                           tmp_path, needs)[0]


def test_the_network_log_separates_the_pages_requests_from_the_browsers_own(tmp_path):
    import json

    from tools import site_test

    log = {"constants": {"logEventTypes": {"URL_REQUEST_START_JOB": 7, "OTHER": 1}},
           "events": [{"type": 7, "params": {"url": "http://127.0.0.1:8000/en/index.html",
                                             "network_isolation_key": "http://127.0.0.1 http://127.0.0.1"}},
                      {"type": 7, "params": {"url": "https://cdn.example.com/mathjax.js",
                                             "network_isolation_key": "http://127.0.0.1 http://127.0.0.1"}},
                      {"type": 7, "params": {"url": "https://update.googleapis.com/x", "network_isolation_key": "null null"}},
                      {"type": 1, "params": {"url": "https://elsewhere.org/"}}]}
    (tmp_path / "net.json").write_text(json.dumps(log))
    assert site_test.page_requests(tmp_path / "net.json") == ["http://127.0.0.1:8000/en/index.html",
                                                             "https://cdn.example.com/mathjax.js"]


def test_the_built_site_falls_back_to_english_with_a_notice_and_links_the_languages(course, tmp_path):
    import shutil

    from tools import site
    from tools.course import ROOT

    shutil.copytree(ROOT / "site", course / "site")
    (course / "chapters/ko/chapter1/first.ipynb").unlink()
    site.build(tmp_path / "_site", root=course)
    page = (tmp_path / "_site/ko/chapter1/first.html").read_text(encoding="utf-8")
    assert "이 페이지는 아직 한국어로 번역되지 않았습니다" in page and "First steps" in page
    assert 'hreflang="en" href="../../en/chapter1/first.html"' in page
    assert "cdn" not in page.lower()  # nothing is fetched from elsewhere (MathJax comes with the site)
    assert (tmp_path / "_site/ko/status.html").exists() and (tmp_path / "_site/index.html").exists()


# --- outputs compared within a tolerance (tools/tolerance.py, applied by tools/nbval_plugin.py) ---------------------

TOLERANT = "# NBVAL_TOLERANCE rel=0.01 abs=0\n# Why: trained in this run; the spread measured on three CPUs.\n"


def test_tolerance_compares_numbers_within_it_and_the_text_around_them_exactly():
    from tools.tolerance import Tolerance, difference, split

    assert split("loss 0.52, step 1,280 of 2e-3") == (["loss ", ", step ", " of ", ""], [0.52, 1280.0, 0.002])
    assert split("checkpoint-30 sst2-small -0.5") == (["checkpoint-", " sst2-small ", ""], [30.0, -0.5])
    tol = Tolerance(rel=0.01, abs=0.001)
    assert difference("accuracy 88.19%, F1 0.882", "accuracy 88.30%, F1 0.884", tol) is None
    assert "number 0" in difference("accuracy 88.19%", "accuracy 90.00%", tol)
    assert "text differs" in difference("accuracy 88.19%", "accuracy: 88.19%", tol)
    assert "numbers" in difference("loss 1.0", "loss 1.0 1.0", tol)
    # A table whose columns widen by a digit still matches: runs of spaces count as one.
    assert difference("  step  loss\n0   10  0.5\n", "  step   loss\n0   10  0.501\n", tol) is None


@pytest.mark.parametrize("source, message", [
    ("# NBVAL_TOLERANCE rel=0.01\n# Why: trained here, measured.\n", "rel=<number> abs=<number>"),
    ("# NBVAL_TOLERANCE rel=0.01 abs=x\n# Why: trained here, measured.\n", "must be numbers"),
    ("# NBVAL_TOLERANCE rel=0 abs=0\n# Why: trained here, measured.\n", "not both 0"),
    ("# NBVAL_TOLERANCE rel=0.01 abs=0\nprint(1)\n", "followed by a comment line"),
])
def test_a_tolerance_marker_must_be_well_formed_and_give_its_reason(course, source, message):
    path = course / "chapters/en/chapter1/first.ipynb"
    edit_cell(path, 5, source + "print(add_one(math.pi))")
    assert message in execute.check(course)[0]
    edit_cell(path, 5, TOLERANT + "print(add_one(math.pi))")
    assert execute.check(course) == []


def test_a_translation_of_a_tolerant_cell_may_store_outputs_within_the_tolerance(course):
    en, ko = course / "chapters/en/chapter1/first.ipynb", course / "chapters/ko/chapter1/first.ipynb"
    source = TOLERANT + "print(add_one(math.pi))"
    set_outputs(en, 5, "loss 4.1416\n", source=source)
    set_outputs(ko, 5, "loss 4.16\n", source=source.replace("Why: trained", "이유: 학습"))
    assert translations.check(course) == []
    set_outputs(ko, 5, "loss 4.3\n")
    assert "stores outputs that differ" in translations.check(course)[0]
    set_outputs(ko, 5, "LOSS 4.1416\n")
    assert "stores outputs that differ" in translations.check(course)[0]


def test_nbval_with_the_plugin_applies_the_tolerance_only_where_a_cell_states_it(tmp_path):
    """Each cell prints 'loss 1.000'; the stored outputs differ from that in one way each."""
    import os
    import subprocess
    import sys

    from tools.course import ROOT

    cases = [  # (marker?, stored output, should pass)
        (True, "loss 1.005\n", True),    # inside the tolerance
        (True, "loss 1.100\n", False),   # outside it
        (True, "LOSS 1.000\n", False),   # the text around the number changed
        (False, "loss 1.001\n", False),  # no marker: exact
        (False, "loss 1.000\n", True),
    ]
    nb = make_notebook([("code", (TOLERANT if marked else "") + 'print("loss 1.000")') for marked, _, _ in cases])
    for cell, (_, stored, _) in zip(nb.cells, cases, strict=True):
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored)]
    path = tmp_path / "tolerance.ipynb"
    nbformat.write(nb, str(path))
    run = subprocess.run([sys.executable, "-m", "pytest", "--nbval", "-p", "tools.nbval_plugin", "-rA", "-q",
                          "-p", "no:cacheprovider", path.name], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    for i, (_, _, passes) in enumerate(cases):
        assert f"{'PASSED' if passes else 'FAILED'} {path.name}::Cell {i}" in run.stdout, run.stdout[-3000:]
    assert "outside the cell's tolerance (rel=0.01, abs=0): stdout: number 0" in run.stdout


def test_make_check_counts_cells_compared_exactly_within_a_tolerance_or_not_at_all(course):
    path = course / "chapters/en/chapter1/first.ipynb"
    assert execute.comparison_counts(course) == {"exact": 4, "within a tolerance": 0, "output ignored": 0,
                                                 "error expected": 0}
    edit_cell(path, 5, TOLERANT + "print(add_one(math.pi))")
    assert execute.comparison_counts(course)["within a tolerance"] == 1
    edit_cell(path, 5, "# NBVAL_IGNORE_OUTPUT\n# Why: a wall-clock time.\nprint(add_one(math.pi))")
    assert execute.comparison_counts(course) == {"exact": 3, "within a tolerance": 0, "output ignored": 1,
                                                 "error expected": 0}


def test_the_times_page_lists_both_precisions_and_the_machines(tmp_path, monkeypatch):
    from tools import times

    machine = {"cpu": "AMD EPYC", "cores": 2, "capability": "AVX512", "native_bf16": True, "simulated": False}
    runs = {"bf16": {"machine": machine, "seconds": {"chapters/en/chapter0/setup.ipynb": 3.2}},
            "float32": {"machine": {**machine, "capability": "AVX2", "native_bf16": False, "simulated": True},
                        "seconds": {"chapters/en/chapter0/setup.ipynb": 4.0}}}
    page = times.page(runs)
    assert "| Setup: your machine, Colab and the Hub | `chapter0/setup.ipynb` | 3 s | 4 s |" in page
    assert "AMD EPYC, 2 cores, PyTorch kernels AVX2 (simulated with ATEN_CPU_CAPABILITY=avx2" in page
