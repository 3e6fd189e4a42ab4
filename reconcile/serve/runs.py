"""Runs of the web page: each upload's folder, its state, and the one worker that runs them.

Stage: entry point (the page's side of ``reconcile run``). In: the files of an upload
(:mod:`reconcile.serve.uploads`), or the bundled sample, and the as-of date.
Out: a :class:`Run` whose folder holds the inputs under their own names, the
reconciliation workbook and JSON result that ``reconcile run`` writes for them, and
``run.json`` (what the run was and how it ended); while the server lives, the
:class:`~reconcile.result.RunResult` the pages are drawn from.

One orchestrator: a run calls :func:`reconcile.pipeline.run` exactly as the command
line does, from the run's folder, with each input named by its file name, so that
the workbook and the JSON are byte for byte what ``reconcile run --declarations NAME
... --out reconciliation.xlsx --json result.json`` writes when run in a folder holding
the same files. Changing the working folder is process-wide, so runs go one at a time
through one worker thread, and nothing else in the server uses a relative path.

Folder of a run (``DATA/runs/ID/``, readable by this user only)::

    declarations.xlsx  dfe-statements.xlsx  contract-2024.yaml   the inputs, as uploaded
    reconciliation.xlsx  result.json                             what reconcile run writes
    remittances/                                                 reconcile split --per-partner
    run.json                                                     this run's record

Every uploaded run is recorded in the history store ``DATA/history.sqlite3``
(:mod:`reconcile.history`: what changed since the previous run, findings followed
with their notes); the bundled sample is not. Contracts uploaded with a run are also
kept in ``DATA/contracts/`` (the whole set
replaces the previous one); a run uploaded without contracts uses those.

Example::

    store = run_store(Path("~/.local/share/reconcile/serve").expanduser())  # .pipeline_adapter
    run = store.create(upload)      # queued; the worker starts it
    store.get(run.id).status        # 'running', then 'done' (or 'input-error', 'failed')
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import queue
import secrets
import shutil
import threading
import time
import traceback
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from reconcile.errors import ReconcileError
from reconcile.result import STAGES, ProgressCallback, ProgressEvent, RunResult
from reconcile.serve.uploads import UploadedFile, private_folder

if TYPE_CHECKING:
    from reconcile.serve.views import RunView

WORKBOOK, RESULT, RECORD, REMITTANCES = ("reconciliation.xlsx", "result.json", "run.json",
                                         "remittances")
#: the history store of the page's runs, in the data folder (reconcile.history)
HISTORY = "history.sqlite3"
#: names a run writes in its folder: an upload may not take them
RESERVED = frozenset({WORKBOOK, RESULT, RECORD, REMITTANCES})

#: the inputs a run takes, as (form field, what it is, the command line's option, suffixes)
ROLES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("declarations", "declarations", "--declarations", (".xlsx", ".csv", ".json")),
    ("dfe_statements", "DfE statements", "--dfe-statements", (".xlsx", ".json")),
    ("participants", "participants", "--participants", (".json",)),
    ("contracts", "contracts", "--contracts", (".yaml", ".yml")),
)
ROLE_NAMES = {field: what for field, what, _, _ in ROLES}

QUEUED, RUNNING, DONE, INPUT_ERROR, FAILED, INTERRUPTED = (
    "queued", "running", "done", "input-error", "failed", "interrupted")
FINISHED = (DONE, INPUT_ERROR, FAILED, INTERRUPTED)

#: what the progress page says of each stage
STAGE_TEXT = {
    "rules": "Loading the rules and contracts",
    "read": "Reading your files",
    "evaluate": "Checking each declaration against the rules",
    "calculate": "Working out the expected payments",
    "compare": "Comparing with DfE's statements",
    "split": "Dividing the payments between delivery partners",
    "report": "Building the workbook",
    "json": "Building the JSON result",
    "write": "Writing the workbook and the JSON",
}

#: how many finished runs keep their full result in memory for the pages (the others'
#: pages are made again when opened: reconcile.serve.reopen)
KEEP_RESULTS = 3
#: a queued job that makes a finished run's pages again
REOPEN = "reopen:"


class InputRecord(NamedTuple):
    role: str  # a form field of ROLES
    name: str
    size: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        return self._asdict()


class Stage(NamedTuple):
    """What the progress page shows of one stage."""

    name: str
    state: str  # waiting, running, done
    seconds: float | None = None


class Run:
    """One run: its record (saved as ``run.json``) and, while kept, its result."""

    def __init__(self, run_id: str, folder: Path, record: dict[str, Any]) -> None:
        self.id = run_id
        self.folder = folder
        self.record = record
        self.result: RunResult | None = None
        #: the pages' view of ``result``, made when first shown
        self.view: RunView | None = None
        self.lock = threading.Lock()
        #: its pages are being made again (reconcile.serve.reopen); or why they could not be
        self.rebuilding = False
        self.rebuild_error: str | None = None
        #: the stages its rebuild has finished, and the one running
        self.rebuilt_stages: list[str] = []
        self.rebuild_stage: str | None = None

    def rebuild_json(self) -> dict[str, Any]:
        """The progress JSON of a rebuild of this run's pages."""
        done = list(self.rebuilt_stages)
        stages = [n for n in STAGES if n not in ("report", "json", "write")]  # nothing written
        return {"status": "running" if self.rebuilding else self.status,
                "stage": self.rebuild_stage,
                "stage_text": STAGE_TEXT.get(self.rebuild_stage or "", ""),
                "fraction": min(1.0, len(done) / len(stages)),
                "stages": [{"name": n, "state": "done" if n in done else
                            "running" if n == self.rebuild_stage else "waiting",
                            "seconds": None} for n in stages]}

    # ------------------------------------------------------------------ the record
    @property
    def status(self) -> str:
        return str(self.record["status"])

    @property
    def inputs(self) -> tuple[InputRecord, ...]:
        return tuple(InputRecord(**item) for item in self.record["inputs"])

    def names(self, role: str) -> tuple[str, ...]:
        return tuple(i.name for i in self.inputs if i.role == role)

    @property
    def as_of(self) -> dt.date | None:
        value = self.record.get("as_of")
        return dt.date.fromisoformat(value) if value else None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def stages(self) -> tuple[Stage, ...]:
        """Every stage of a run with its state, for the progress page."""
        done = dict(self.record.get("timings") or ())
        current = self.record.get("stage")
        out = []
        for name in STAGES:
            if name in done:
                out.append(Stage(name, "done", done[name]))
            elif name == current and self.status == RUNNING:
                out.append(Stage(name, "running"))
            else:
                out.append(Stage(name, "waiting"))
        return tuple(out)

    def progress_json(self) -> dict[str, Any]:
        """``GET /runs/{id}`` as JSON while the run is not finished."""
        stage = self.record.get("stage")
        return {"status": self.status, "stage": stage,
                "stage_text": STAGE_TEXT.get(stage or "", ""),
                "done": self.record.get("done"), "total": self.record.get("total"),
                "fraction": self.fraction(),
                "stages": [s._asdict() for s in self.stages()]}

    def fraction(self) -> float:
        """How far the run is, 0 to 1: finished stages, and the running one's share."""
        if self.finished:
            return 1.0
        finished = len(dict(self.record.get("timings") or ()))
        part = 0.0
        done, total = self.record.get("done"), self.record.get("total")
        if done is not None and total:
            part = min(1.0, done / total)
        return min(1.0, (finished + part) / len(STAGES))

    def save(self) -> None:
        """Write ``run.json`` atomically (a killed server leaves the old or the new)."""
        tmp = self.folder / f".{RECORD}.tmp"
        tmp.write_text(json.dumps(self.record, indent=2, ensure_ascii=False) + "\n",
                       encoding="utf-8")
        os.replace(tmp, self.folder / RECORD)

    def update(self, **changes: Any) -> None:
        with self.lock:
            self.record.update(changes)


def _run_id() -> str:
    """Sortable by time, unguessable, safe in a URL and a folder name."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(4)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fp:
        for block in iter(lambda: fp.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


#: makes a finished run's result again: (run, history store, progress) -> its result
Rebuild = Callable[["Run", Path, ProgressCallback | None], RunResult]


class RunStore:
    """Every run in the data folder, and the worker thread that runs them in order."""

    def __init__(self, data_dir: Path, execute: Callable[[Run], RunResult],
                 rebuild: Rebuild) -> None:
        """``execute`` runs a run, ``rebuild`` makes a finished one's result again
        (:func:`reconcile.serve.pipeline_adapter.run_store` gives the pipeline's)."""
        self.data_dir = private_folder(Path(data_dir).resolve())
        self.runs_dir = private_folder(self.data_dir / "runs")
        self.contracts_dir = private_folder(self.data_dir / "contracts")
        self.uploads_dir = private_folder(self.data_dir / "uploads")
        self._runs: dict[str, Run] = {}
        self._kept: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._execute = execute
        self._rebuild = rebuild
        self._load()
        self._worker = threading.Thread(target=self._work, name="reconcile-runs", daemon=True)
        self._worker.start()

    # ------------------------------------------------------------------ loading
    def _load(self) -> None:
        """The runs of earlier starts: listed, downloadable; unfinished ones interrupted."""
        for folder in sorted(self.runs_dir.iterdir()):
            record_path = folder / RECORD
            if not folder.is_dir() or not record_path.is_file():
                continue
            try:
                record = json.loads(record_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            run = Run(folder.name, folder, record)
            if not run.finished:
                run.record.update(status=INTERRUPTED,
                                  message="The server stopped before this run finished.")
                run.save()
            self._runs[run.id] = run
        for leftover in self.uploads_dir.iterdir():  # uploads a stopped server left
            shutil.rmtree(leftover, ignore_errors=True)

    # ------------------------------------------------------------------ creating
    def upload_folder(self) -> Path:
        """A new private folder for one request's files (see :meth:`create`)."""
        return private_folder(self.uploads_dir / secrets.token_hex(8))

    @property
    def history_path(self) -> Path:
        """The history store the page's runs are recorded in (it may not exist yet)."""
        return self.data_dir / HISTORY

    def saved_contracts(self) -> tuple[InputRecord, ...]:
        """The contracts kept from the last upload that had some (``GET /contracts``)."""
        return tuple(InputRecord("contracts", p.name, p.stat().st_size, sha256_of(p))
                     for p in sorted(self.contracts_dir.iterdir()) if p.is_file())

    def create(self, files: Sequence[UploadedFile], *, as_of: dt.date | None,
               sample: bool = False, keep_contracts: bool = True,
               options: dict[str, Any] | None = None) -> Run:
        """A queued run of these files (moved into its folder under their own names).

        Without contracts among ``files``, the kept contracts are copied in; with some
        (and ``keep_contracts``), they become the kept set. Names were checked by the
        caller (:func:`check_files`).
        """
        run_id = _run_id()
        folder = private_folder(self.runs_dir / run_id)
        inputs: list[InputRecord] = []
        for item in files:
            target = folder / item.name
            if target.exists():  # cannot happen after check_files; never replace a file
                raise FileExistsError(target)
            shutil.move(str(item.path), target)
            inputs.append(InputRecord(item.field, item.name, target.stat().st_size,
                                      sha256_of(target)))
        uploaded_contracts = [i for i in inputs if i.role == "contracts"]
        if uploaded_contracts and keep_contracts:
            self._keep_contracts(folder, uploaded_contracts)
        elif not uploaded_contracts:
            for kept in sorted(self.contracts_dir.iterdir()):
                if kept.is_file() and not (folder / kept.name).exists():
                    shutil.copyfile(kept, folder / kept.name)
                    inputs.append(InputRecord("contracts", kept.name, kept.stat().st_size,
                                              sha256_of(folder / kept.name)))
        record = {
            "id": run_id,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "status": QUEUED,
            "sample": sample,
            "as_of": as_of.isoformat() if as_of else None,
            "options": dict(options or {}),
            "inputs": [i.as_json() for i in inputs],
            "timings": [],
        }
        run = Run(run_id, folder, record)
        run.save()
        with self._lock:
            self._runs[run_id] = run
        self._queue.put(run_id)
        return run

    def _keep_contracts(self, folder: Path, contracts: Sequence[InputRecord]) -> None:
        """The contracts of this upload become the kept set (replacing the last one)."""
        staging = private_folder(self.data_dir / f".contracts-{secrets.token_hex(4)}")
        for item in contracts:
            shutil.copyfile(folder / item.name, staging / item.name)
        old = self.data_dir / f".contracts-old-{secrets.token_hex(4)}"
        os.replace(self.contracts_dir, old)
        os.replace(staging, self.contracts_dir)
        shutil.rmtree(old, ignore_errors=True)

    # ------------------------------------------------------------------ reading
    def get(self, run_id: str) -> Run | None:
        with self._lock:
            return self._runs.get(run_id)

    def all(self) -> list[Run]:
        """Newest first."""
        with self._lock:
            return sorted(self._runs.values(), key=lambda r: r.id, reverse=True)

    def delete(self, run_id: str) -> bool:
        """Forget a finished run and delete its folder (inputs and outputs)."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or not run.finished:
                return False
            del self._runs[run_id]
            self._kept.pop(run_id, None)
        shutil.rmtree(run.folder, ignore_errors=True)
        return True

    def keep_result(self, run: Run, result: RunResult) -> None:
        """Hold ``result`` for the pages; the oldest beyond :data:`KEEP_RESULTS` is let go."""
        with self._lock:
            run.result = result
            self._kept[run.id] = None
            self._kept.move_to_end(run.id)
            while len(self._kept) > KEEP_RESULTS:
                old_id, _ = self._kept.popitem(last=False)
                old = self._runs.get(old_id)
                if old is not None:
                    old.result = None

    def reopen(self, run: Run) -> bool:
        """Queue the making of a finished run's pages again (its result was let go, or
        the server restarted); False if it cannot be (not done, or a rebuild failed)."""
        with self._lock:
            if run.status != DONE or run.result is not None or run.rebuild_error:
                return False
            if not run.rebuilding:
                run.rebuilding = True
                self._queue.put(f"{REOPEN}{run.id}")
            return True

    # ------------------------------------------------------------------ the worker
    def _work(self) -> None:
        while True:
            run_id = self._queue.get()
            if run_id is None:
                return
            reopen = run_id.startswith(REOPEN)
            run = self.get(run_id.removeprefix(REOPEN))
            if run is None:
                continue
            if reopen:
                self._reopen_one(run)
            else:
                self._run_one(run)

    def _reopen_one(self, run: Run) -> None:
        run.rebuilt_stages, run.rebuild_stage = [], None

        def progress(event: ProgressEvent) -> None:
            if event.finished:
                run.rebuilt_stages.append(event.stage)
            else:
                run.rebuild_stage = event.stage

        try:
            result = self._rebuild(run, self.history_path, progress)
        except Exception as error:  # the files changed, or a bug: said on the page
            run.rebuild_error = (f"{type(error).__name__}: {error}"
                                 if not isinstance(error, ReconcileError) else error.render())
        else:
            self.keep_result(run, result)
        finally:
            run.rebuilding = False

    def _run_one(self, run: Run) -> None:
        start = time.perf_counter()
        run.update(status=RUNNING, started=dt.datetime.now(dt.timezone.utc).isoformat(
            timespec="seconds"))
        run.save()
        try:
            result = self._execute(run)
        except ReconcileError as error:
            run.update(status=INPUT_ERROR, error_kind=error.kind,
                       problems=[_problem_json(p) for p in error.problems])
        except Exception as error:  # a bug: say so plainly, keep serving
            run.update(status=FAILED, message=f"{type(error).__name__}: {error}",
                       traceback=traceback.format_exc())
        else:
            self.keep_result(run, result)
            run.update(status=DONE, **summary_counts(result))
        run.update(seconds=round(time.perf_counter() - start, 3),
                   finished=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                   stage=None, done=None, total=None)
        run.save()

    def stop(self) -> None:
        self._queue.put(None)


def _problem_json(problem: Any) -> dict[str, Any]:
    """One located problem of a bad input, for the page and the JSON (422)."""
    source = problem.source
    return {"file": source.file or None, "sheet": source.sheet, "row": source.row,
            "column": source.column, "line": source.line, "where": str(source),
            "what": problem.what, "fix": problem.fix, "message": str(problem)}


def summary_counts(result: RunResult) -> dict[str, Any]:
    """What the runs list shows of a finished run."""
    severities = Counter(f.severity.value for f in result.findings)
    history = result.history
    return {"history_run_id": history.run_id if history is not None else None,
            "counts": {"statements": len(result.calculation.statements),
                       "declarations": len(result.declarations),
                       "errors": severities.get("error", 0),
                       "warnings": severities.get("warning", 0),
                       "info": severities.get("info", 0)}}


def check_files(files: Sequence[UploadedFile]) -> list[str]:
    """Problems with an upload's files before any run: roles, names, extensions."""
    problems = []
    if not any(f.field == "declarations" for f in files):
        problems.append("Choose at least one declarations file (.xlsx, .csv or the API's "
                        ".json)")
    for item in files:
        if item.field not in ROLE_NAMES:
            problems.append(f"{item.name}: the field {item.field!r} is not an input of a run "
                            f"(use {', '.join(ROLE_NAMES)})")
            continue
        suffixes = next(s for f, _, _, s in ROLES if f == item.field)
        if not item.name.lower().endswith(suffixes):
            problems.append(f"{item.name}: {ROLE_NAMES[item.field]} must be "
                            f"{' or '.join(suffixes)} files")
        if item.name in RESERVED:
            problems.append(f"{item.name}: a run writes a file of that name; rename the "
                            "upload")
        if item.size == 0:
            problems.append(f"{item.name}: the file is empty")
    return problems
