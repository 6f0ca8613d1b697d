"""The exercise checker (course_lib.exercises) and the rule that every notebook has checked, proven exercises."""

import nbformat
import numpy as np
import pytest
import torch
from conftest import edit_cell

from course_lib.exercises import check, prove
from tools import exercises


def verdict(capsys, name, answer, **how):
    check(name, answer, **how)
    return capsys.readouterr().out.strip()


def right(capsys, name, answer, **how):
    return verdict(capsys, name, answer, **how) == "Correct!"


def test_check_says_not_answered_right_or_wrong_with_the_hint(capsys):
    assert check("sum", None, expected=4) is None
    check("sum", 4, expected=4)
    check("sum", 5, expected=4, hint="add again")
    check("sum", 5, expected=4)
    assert capsys.readouterr().out.splitlines() == ["Not answered yet.", "Correct!", "Not quite. Hint: add again",
                                                    "Not quite."]


def test_numbers_compare_within_the_tolerance_and_across_numeric_types(capsys):
    assert right(capsys, "share", 0.3334, expected=1 / 3, tolerance=0.001)
    assert not right(capsys, "share", 0.34, expected=1 / 3, tolerance=0.001)
    assert right(capsys, "count", np.int64(3), expected=3) and right(capsys, "count", torch.tensor(3), expected=3)
    assert not right(capsys, "count", "3", expected=3) and not right(capsys, "count", True, expected=1)
    assert right(capsys, "scores", (0.5, 0.3333), expected=(0.5, 1 / 3), tolerance=0.01)
    assert not right(capsys, "scores", (0.5,), expected=(0.5, 1 / 3), tolerance=0.01)
    assert right(capsys, "name", "PER", expected="PER") and not right(capsys, "name", "per", expected="PER")


def test_a_function_answer_is_run_by_the_test_and_its_errors_are_wrong_answers(capsys):
    def add_one_test(f):
        return f(1) == 2 and f(-3) == -2

    assert right(capsys, "add-one", lambda x: x + 1, test=add_one_test)
    assert verdict(capsys, "add-one", lambda x: x / 0, test=add_one_test, hint="add, do not divide") == (
        "Not quite: it raised ZeroDivisionError: division by zero. Hint: add, do not divide")


def test_prove_passes_a_right_solution_and_fails_a_lax_or_wrong_check(capsys):
    check("double", None, test=lambda f: f(2) == 4 and f(5) == 10)
    prove("double", lambda x: 2 * x, wrong=lambda x: x + 2)
    assert "double: the solution passes the check; a wrong answer does not." in capsys.readouterr().out
    with pytest.raises(AssertionError, match="fails its own check"):
        prove("double", lambda x: x + 2, wrong=lambda x: x)
    check("lax", None, test=lambda answer: True)
    with pytest.raises(AssertionError, match="accepts the wrong answer"):
        prove("lax", 1, wrong=2)
    with pytest.raises(KeyError, match="run its check cell first"):
        prove("never-checked", 1, wrong=2)
    with pytest.raises(TypeError, match="either expected= or test="):
        check("both", 1, expected=1, test=lambda a: True)


# --- every notebook has exercises, each with a hidden solution that proves its check ----------------------------------

def test_the_course_notebooks_follow_the_exercise_rules():
    assert exercises.check() == []
    assert all(n >= 1 for n in exercises.counts().values())


def _add_exercise(path, solution_source):
    nb = nbformat.read(str(path), as_version=4)
    nb.cells += [nbformat.v4.new_code_cell('check("one", None, expected=1)'),
                 nbformat.v4.new_code_cell(solution_source)]
    nbformat.write(nb, str(path))


def test_the_rules_find_missing_exercises_solutions_and_unhidden_solution_cells(course):
    path = course / "chapters/en/chapter1/first.ipynb"
    assert "no exercise" in exercises.exercises(path)[1][0]
    _add_exercise(path, 'print("nothing proven")')
    assert "has no solution cell calling prove('one', ...)" in exercises.exercises(path)[1][0]
    edit_cell(path, 7, 'prove("one", 1, wrong=2)')
    problems = exercises.exercises(path)[1]
    assert any("does not start with '# @title Solution'" in p for p in problems)
    assert any("is not hidden" in p for p in problems)
    edit_cell(path, 7, '# @title Solution\nprove("one", 1, wrong=2)')
    assert exercises.fix(course) == ["chapters/en/chapter1/first.ipynb"]
    assert exercises.exercises(path) == (["one"], [])
    assert exercises.counts(course)["chapters/en/chapter1/first.ipynb"] == 1
