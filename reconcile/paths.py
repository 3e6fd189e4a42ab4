"""Where the bundled data lives: the rulebook (``rules/``), templates and samples.

In a repository checkout (or an editable install) they are the folders beside the
``reconcile`` package; in an ordinary install they are under
``sys.prefix/share/reconcile/`` (setup.cfg ``[options.data_files]``).

>>> bundled_rules_dir().name
'rules'
"""

from __future__ import annotations

import sys
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent

#: how the bundled rulebook's files are named in every output and message
#: (``rules/eligibility.yaml:183``): the same wherever reconcile is installed and
#: whatever the working folder, so the same inputs give the same bytes. A user's
#: own ``--rules DIR`` is named as given, like every other input.
BUNDLED_RULES_NAME = "rules"


def _bundled(name: str) -> Path:
    """The checkout's folder when there is one, else the installed copy."""
    beside = _CHECKOUT / name
    # a checkout has its setup.cfg beside the package; an installed package's parent
    # is site-packages, where a stray "rules" folder must not be taken for ours
    if beside.is_dir() and (_CHECKOUT / "setup.cfg").is_file():
        return beside
    for prefix in (sys.prefix, sys.base_prefix):
        installed = Path(prefix) / "share" / "reconcile" / name
        if installed.is_dir():
            return installed
    return beside  # missing: the caller reports it with this path


def bundled_rules_dir() -> Path:
    """The rulebook shipped with reconcile (``rules/``)."""
    return _bundled("rules")



def bundled_samples_dir() -> Path:
    return _bundled("samples")


def display_path(path: Path) -> str:
    """``path`` as people should see it in messages: relative to the working folder
    when it is inside it (``rules/fees.yaml``), else as it is."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)
