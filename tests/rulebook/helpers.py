"""Helpers for rulebook tests: edit a copy of the rules as a user would.

:func:`edit` replaces one exact piece of text (it must occur once) and
:func:`line_of` finds the line a piece of text is on, counted here independently
of the loader, so a test can say which line an error must point at.
"""

from __future__ import annotations

from pathlib import Path


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must occur exactly once) by ``new`` in the file."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the only line of the file that starts with ``text``
    (ignoring indentation and a list's ``- ``)."""
    hits = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if line.strip().removeprefix("- ").startswith(text)]
    assert len(hits) == 1, f"{text!r} is on lines {hits} of {path}"
    return hits[0]
