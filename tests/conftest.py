"""Every test records its runs in a history store of its own, never in the user's."""

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _session_history_store(tmp_path_factory):
    # reconcile run/expected/split record a history by default, in the user's data
    # folder: fixtures wider than one test (module-scoped runs) use this store
    before = os.environ.get("RECONCILE_HISTORY")
    os.environ["RECONCILE_HISTORY"] = str(tmp_path_factory.mktemp("history") / "history.sqlite3")
    yield
    if before is None:
        os.environ.pop("RECONCILE_HISTORY", None)
    else:
        os.environ["RECONCILE_HISTORY"] = before


@pytest.fixture(autouse=True)
def _own_history_store(tmp_path_factory, monkeypatch):
    # and each test (with the reconcile processes it starts) a fresh one
    monkeypatch.setenv("RECONCILE_HISTORY",
                       str(tmp_path_factory.mktemp("history") / "history.sqlite3"))
