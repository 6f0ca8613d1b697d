"""Outputs compared within a tolerance: how a cell says it, and how its outputs are compared.

A cell whose output depends on the CPU's arithmetic (anything trained, a floating-point error) says so with a marker
alone on a line, followed by a comment line saying why and what the tolerance was chosen from:

    # NBVAL_TOLERANCE rel=0.01 abs=0.005
    # trained in this run: bfloat16 on AMX or AVX512-BF16, float32 elsewhere; measured spread 0.004 (README)

Its stored and fresh outputs are then cut into numbers and the text between them. The text must be the same (runs
of spaces count as one, so that a table whose column width changes with a digit still matches); the numbers must be
as many, and each fresh number b must lie within `abs + rel * |a|` of its stored number a. Every other cell is
compared exactly by nbval (after tools/nbval_sanitize.cfg). `tools.nbval_plugin` applies this in `make test`, and
`tools.translations` when it proves that a translation stores the English outputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


MARKER = "NBVAL_TOLERANCE"
_MARKER_LINE = re.compile(rf"#\s*{MARKER}\b(.*)$")
_ARGUMENT = re.compile(r"(rel|abs)=(\S+)")
# A number: optional sign (not after a letter or digit, where '-' is a hyphen), digits with optional thousands
# commas, an optional fraction, an optional exponent. "1,280" is one number, "57/387" two, "sst2-small" one (2).
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?(?:[eE][-+]?\d+)?|(?<![\w.])[-+]?\.\d+")
_SPACE = re.compile(r"\s+")
REASON = re.compile(r"#\s*\S.{8,}")  # the comment line after a marker that says why (this one and NBVAL_IGNORE_OUTPUT)


@dataclass(frozen=True)
class Tolerance:
    rel: float
    abs: float

    def allows(self, stored: float, fresh: float) -> bool:
        return abs(fresh - stored) <= self.abs + self.rel * abs(stored)


def parse(source: str) -> Tolerance | None:
    """The tolerance a cell's source states, or None if it has no marker. Raises ValueError on a malformed one."""
    lines = [line.strip() for line in source.splitlines()]
    found = None
    for n, line in enumerate(lines):
        match = _MARKER_LINE.match(line)
        if not match:
            continue
        if found is not None:
            raise ValueError(f"two {MARKER} markers in one cell; keep one")
        arguments = dict(_ARGUMENT.findall(match[1]))
        leftover = _ARGUMENT.sub("", match[1]).strip()
        if set(arguments) != {"rel", "abs"} or leftover:
            raise ValueError(f"write the marker as `# {MARKER} rel=<number> abs=<number>`, alone on its line; "
                             f"got {line!r}")
        try:
            found = Tolerance(float(arguments["rel"]), float(arguments["abs"]))
        except ValueError:
            raise ValueError(f"{line!r}: rel and abs must be numbers, like rel=0.01 abs=1e-3") from None
        if found.rel < 0 or found.abs < 0 or (found.rel == 0 and found.abs == 0):
            raise ValueError(f"{line!r}: rel and abs must be >= 0 and not both 0 (without a tolerance, drop the "
                             "marker: the cell is then compared exactly)")
        if n + 1 >= len(lines) or not REASON.match(lines[n + 1]):
            raise ValueError(f"{MARKER} must be followed by a comment line saying why the output varies and what "
                             "the tolerance was chosen from")
    return found


def split(text: str) -> tuple[list[str], list[float]]:
    """(the text between numbers, whitespace runs collapsed; the numbers): 'loss 0.52, step 1,280' ->
    (['loss ', ', step ', ''], [0.52, 1280.0])."""
    parts, numbers, last = [], [], 0
    for match in NUMBER.finditer(text):
        parts.append(text[last:match.start()])
        numbers.append(float(match[0].replace(",", "")))
        last = match.end()
    parts.append(text[last:])
    return [_SPACE.sub(" ", p) for p in parts], numbers


def difference(stored: str, fresh: str, tolerance: Tolerance) -> str | None:
    """None if `fresh` matches `stored` within the tolerance, else a sentence saying where it does not."""
    if stored == fresh:
        return None
    stored_text, stored_numbers = split(stored)
    fresh_text, fresh_numbers = split(fresh)
    if len(stored_numbers) != len(fresh_numbers):
        return f"the output has {len(fresh_numbers)} numbers, {len(stored_numbers)} stored"
    for i, (a, b) in enumerate(zip(stored_text, fresh_text, strict=True)):
        if a != b:
            return f"the text differs after number {i}: stored {a!r}, now {b!r}"
    for i, (a, b) in enumerate(zip(stored_numbers, fresh_numbers, strict=True)):
        if not tolerance.allows(a, b):
            context = stored_text[i][-30:]
            return (f"number {i} ({context!r} ...) is {b:g}, stored {a:g}: off by {abs(b - a):.3g}, more than "
                    f"abs {tolerance.abs:g} + rel {tolerance.rel:g} x {abs(a):g} = "
                    f"{tolerance.abs + tolerance.rel * abs(a):.3g}")
    return None
