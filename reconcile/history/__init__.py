"""The run history: every run remembered, what changed since the previous one, and
findings followed until they are settled (docs/history.md).

Stage: history, between compare/split and report/write. The store is one SQLite
file per user (:func:`~reconcile.history.location.default_store_path`), or
``--history PATH`` / ``RECONCILE_HISTORY``; ``--no-history`` turns it off.

Modules: :mod:`.snapshot` (what is recorded of a run), :mod:`.changes` (what changed
between two runs), :mod:`.store` (the SQLite file), :mod:`.follow` (the stage: a
run's changes and its findings' status, and recording it with the outputs),
:mod:`.sheet` (the Changes sheet), :mod:`.commands` (``reconcile history ...``).

For other front ends (the web page) the small API below reads and annotates a store::

    from reconcile import history
    with history.open_store(path) as store:
        runs = history.list_runs(store)                  # newest first
        changes = history.run_changes(store, runs[0].run_id)
        followed = history.followed_findings(store, open_only=True)
        history.add_note(store, fingerprint, "disputed", "raised with DfE", by="alice")
"""

from reconcile.history.api import (
    add_note,
    followed_findings,
    list_runs,
    run_changes,
    run_details,
)
from reconcile.history.store import HistoryError, Store, open_store

__all__ = ["HistoryError", "Store", "add_note", "followed_findings", "list_runs",
           "open_store", "run_changes", "run_details"]
