"""Text that every output can hold: one definition of the characters that cannot be written.

XML 1.0 (every part of an ``.xlsx``) cannot hold the control characters U+0000 to
U+001F other than tab, line feed and carriage return, nor U+FFFE and U+FFFF; UTF-8
(the JSON result, the workbook, the terminal) cannot hold half of a UTF-16 pair (a
"lone surrogate", which JSON's ``\\ud800`` escape produces). Such characters come only
from damaged or hostile inputs; written raw they make a workbook Excel refuses to
open, or stop the run at its very last step.

Readers replace them with U+FFFD (�) and note where (:func:`clean`, :func:`unsafe_in`);
the workbook writer and the JSON writer replace whatever still reaches them, so no
text, whatever its source, can break a file (:mod:`reconcile.write`; text files are
opened with ``errors=ENCODE_ERRORS``, :mod:`reconcile.outputs`).

>>> clean("May 2024\\x00\\x01")
'May 2024��'
>>> clean("Søuth\\tPartners") == "Søuth\\tPartners"
True
>>> describe("a\\x01b\\ud800")
'U+0001, U+D800'
"""

from __future__ import annotations

import codecs
import re

#: what replaces a character that cannot be written
REPLACEMENT = "\ufffd"

# XML 1.0's excluded characters (tab, LF and CR are allowed), and lone surrogates
UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def unsafe_in(text: str) -> bool:
    """Whether ``text`` holds a character no output can hold."""
    return UNSAFE.search(text) is not None


def clean(text: str) -> str:
    """``text`` with every character no output can hold replaced by U+FFFD."""
    return UNSAFE.sub(REPLACEMENT, text)


def describe(text: str, most: int = 3) -> str:
    """The unsafe characters of ``text``, as code points: ``U+0001, U+D800``."""
    found = list(dict.fromkeys(UNSAFE.findall(text)))
    shown = ", ".join(f"U+{ord(c):04X}" for c in found[:most])
    return shown + (" ..." if len(found) > most else "")


def _replace_unencodable(error: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(error, UnicodeEncodeError) or error.encoding not in ("utf-8", "utf8"):
        raise error
    # bytes: CPython's UTF-8 encoder takes only ASCII text back from a handler
    return REPLACEMENT.encode("utf-8") * (error.end - error.start), error.end


#: the ``errors=`` of every text file we write: a character the encoding cannot hold
#: (a lone surrogate, in UTF-8) is written as U+FFFD instead of stopping the run
ENCODE_ERRORS = "reconcile.replace"
codecs.register_error(ENCODE_ERRORS, _replace_unencodable)
