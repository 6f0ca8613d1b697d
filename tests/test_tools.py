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
