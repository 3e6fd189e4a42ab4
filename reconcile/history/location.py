"""Where the history store is: ``--history PATH``, else ``RECONCILE_HISTORY``, else the
user's data folder; nowhere with ``--no-history``.

The default is one file per user in the platform's user data folder, as
`platformdirs <https://platformdirs.readthedocs.io>`_ names it (a small, widely
used library that knows each platform's convention, so we do not hard-code three):
``~/.local/share/reconcile/history.sqlite3`` on Linux (``$XDG_DATA_HOME`` when set),
``~/Library/Application Support/reconcile/history.sqlite3`` on macOS,
``%LOCALAPPDATA%\\reconcile\\history.sqlite3`` on Windows. That folder is made when
first needed; a folder given with ``--history`` must exist.

>>> store_path(Path("h.sqlite3"), no_history=False, environ={})
PosixPath('h.sqlite3')
>>> store_path(None, no_history=True, environ={"RECONCILE_HISTORY": "x"}) is None
True
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

from reconcile.errors import Problem
from reconcile.history.store import HistoryError
from reconcile.model import Source

ENVIRONMENT = "RECONCILE_HISTORY"
FILE_NAME = "history.sqlite3"


def default_store_path() -> Path:
    """The per-user store: ``<user data folder>/reconcile/history.sqlite3``."""
    return platformdirs.user_data_path("reconcile", appauthor=False) / FILE_NAME


def store_path(option: Path | str | None, no_history: bool,
               environ: Mapping[str, str] | None = None) -> Path | None:
    """The store a run records into, or None when history is off."""
    if no_history:
        return None
    if option is not None and str(option) != "":
        return Path(option)
    env = os.environ if environ is None else environ
    if env.get(ENVIRONMENT):
        return Path(env[ENVIRONMENT])
    return default_store_path()


def is_default(path: Path) -> bool:
    return path == default_store_path()


def ensure_folder(path: Path) -> None:
    """Make the default store's folder (only the default's: a given path's folder must
    exist, as for every other output)."""
    if not is_default(path):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise HistoryError([Problem(
            Source(str(path.parent)),
            f"the folder for your run history cannot be made: "
            f"{error.strerror or error}",
            f"give a store with --history PATH (or {ENVIRONMENT}=PATH), or --no-history",
        )]) from None
