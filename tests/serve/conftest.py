"""Shared pieces of the page's tests: the bundled sample as uploads, the command line's
own outputs for it (the reference the page's downloads must equal), a server in-process.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reconcile.paths import bundled_samples_dir

SAMPLE_AS_OF = "2026-10-10"  # samples/planted.json: the sample is "as at" this day
TOKEN = "test-token-0123456789"
PORT = 8765


def sample_files() -> list[tuple[str, Path]]:
    """The bundled sample as an upload: (form field, file), in the order sent."""
    folder = bundled_samples_dir()
    files = [("declarations", folder / "declarations.xlsx"),
             ("dfe_statements", folder / "dfe-statements-planted.xlsx")]
    files += [("contracts", p) for p in sorted((folder / "contracts").glob("*.yaml"))]
    return files


def cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``reconcile ARGS`` as a user types it, in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "reconcile", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def cli_reference(tmp_path_factory) -> Path:
    """What the command line writes for the sample, run in a folder holding its files.

    ``reconciliation.xlsx`` and ``result.json`` (reconcile run) and ``remittances/``
    (reconcile split --per-partner), each input named by its file name, as the page
    records the uploaded file names, and the run recorded as the first of a history two
    folders up (``--history ../../history.sqlite3``), as the page records an upload's
    run in its data folder's history. Returns the run's folder. Made once for all the test workers (pytest-xdist
    workers share the parent of their temporary folders), under a lock.
    """
    import fcntl
    import os

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # gw0, gw1...: the session's folder above
        shared = shared.parent
    data = shared / "serve-cli-reference"
    folder = data / "runs" / "sample"
    with open(shared / "serve-cli-reference.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (data / "done").exists():
            shutil.rmtree(data, ignore_errors=True)
            folder.mkdir(parents=True)
            _reference(folder)
            (data / "done").touch()
    return folder


def _reference(folder: Path) -> None:
    options: list[str] = []
    for field, path in sample_files():
        shutil.copyfile(path, folder / path.name)
        options += [f"--{field.replace('_', '-')}", path.name]
    # the page's runs record no history (yet): nor does this reference (its JSON would
    # carry a history block and its workbook a Changes sheet)
    common = [*options, "--as-of", SAMPLE_AS_OF, "--quiet"]
    done = cli(["run", *common, "--out", "reconciliation.xlsx", "--json", "result.json",
                "--history", str(Path("..", "..", "history.sqlite3"))], folder)
    assert done.returncode == 1, done.stderr  # the sample's planted discrepancies
    done = cli(["split", *common, "--no-history", "--per-partner", "remittances"], folder)
    assert done.returncode in (0, 1), done.stderr


@pytest.fixture
def store(tmp_path):
    from reconcile.serve.pipeline_adapter import run_store

    store = run_store(tmp_path / "data")
    yield store
    store.stop()


def make_client(store, max_upload_bytes: int = 50 * 1024 * 1024):
    from starlette.testclient import TestClient

    from reconcile.serve.app import create_app
    from reconcile.serve.security import Guard

    guard = Guard("127.0.0.1", PORT, token=TOKEN)
    app = create_app(store, guard, max_upload_bytes)
    return TestClient(app, base_url=f"http://127.0.0.1:{PORT}"), guard


@pytest.fixture
def client(store):
    client, _ = make_client(store)
    return client


BEARER = {"Authorization": f"Bearer {TOKEN}"}


def upload(client, files: list[tuple[str, Path]], **fields: str):
    """``POST /runs`` as a script sends it (bearer token, multipart)."""
    parts = [(field, (path.name, path.read_bytes())) for field, path in files]
    return client.post("/runs", files=parts, data=fields, headers=BEARER,
                       follow_redirects=False)


def wait(client, location: str, timeout: float = 120) -> None:
    """Until the run at ``location`` has finished (its progress says so)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"{location}/progress", headers=BEARER).json()
        if state["status"] not in ("queued", "running"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{location} did not finish in {timeout}s")


def as_of() -> dt.date:
    return dt.date.fromisoformat(SAMPLE_AS_OF)
