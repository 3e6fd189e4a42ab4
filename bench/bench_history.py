"""Bench: the run history's cost: ``reconcile run`` with and without it, and the store's size.

For each size up to 100,000 declarations (the generated data of
:func:`bench.bench_pipeline.dataset`, against its planted DfE statements), three runs
of the real command line, each a fresh process, in this order: **without** history
(``--no-history``); **first**, into an empty store (nothing to compare); **second**,
into the same store a month later (``--as-of`` + 31 days: compared with the first
run, every declaration and statement line diffed). Reported: each run's wall time,
the *history* stage's own seconds (the run's progress line: snapshot, previous run
read back, changes, findings followed) and its share of the second run, the second
run against the run without history, the changes found, and the store's size after
each run (its growth is the size of one run).

Run: ``python -m bench.bench_history [SIZE ...]`` (default 100,000), or ``make bench``.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
import tempfile
from pathlib import Path

from bench import DATA_DIR, note
from bench.bench_pipeline import _STAGE_LINE, _as_of, child, dataset

#: the largest size benched here (the target is stated at 100,000 declarations)
MAX_SIZE = 100_000
TARGET_SHARE = 0.10


def _run(folder: Path, work: Path, as_of: str, history: list[str]) -> dict:
    command = [sys.executable, "-m", "reconcile", "run",
               "--declarations", str(folder / "declarations.csv"),
               "--dfe-statements", str(folder / "dfe-statements-planted.xlsx"),
               "--contracts", str(folder / "contracts"),
               "--out", str(work / "reconciliation.xlsx"), "--as-of", as_of, *history]
    done = child(command)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"reconcile run exited {done.returncode}:\n{done.stderr[-3000:]}")
    stages = {name: float(s) for name, s in _STAGE_LINE.findall(done.stderr)}
    return {"seconds": done.seconds, "history_s": stages.get("history")}


def _size(store: Path) -> int:
    """The store's bytes, its write-ahead log included."""
    return sum(p.stat().st_size for p in store.parent.glob(store.name + "*")
               if not p.name.endswith("-backup"))


def run(sizes) -> list[dict]:
    rows = []
    for size in [s for s in sizes if s <= MAX_SIZE] or [min(sizes)]:
        folder, generated = dataset(size)
        as_of = _as_of(folder)
        month_on = (dt.date.fromisoformat(as_of) + dt.timedelta(days=31)).isoformat()
        work = Path(tempfile.mkdtemp(prefix=f"history-{size}-", dir=DATA_DIR))
        store = work / "history.sqlite3"
        try:
            note(f"history {size:,}: without, first, second run ...")
            without = _run(folder, work, as_of, ["--no-history"])
            first = _run(folder, work, as_of, ["--history", str(store)])
            first_bytes = _size(store)
            second = _run(folder, work, month_on, ["--history", str(store)])
            second_bytes = _size(store)
            listed = child([sys.executable, "-m", "reconcile", "history", "list",
                            "--history", str(store), "--json", "-"])
            changes = json.loads(listed.stdout)["runs"][0]["changes"]
        finally:
            shutil.rmtree(work, ignore_errors=True)
        share = (second["history_s"] or 0) / second["seconds"]
        rows.append({
            "declarations": generated.get("declarations", size),
            "run without history s": round(without["seconds"], 2),
            "first run s": round(first["seconds"], 2),
            "second run s": round(second["seconds"], 2),
            "history stage, first s": first["history_s"],
            "history stage, second s": second["history_s"],
            "history share of the second run": f"{share:.1%}",
            "history stage / run without history":
                f"{(second['history_s'] or 0) / without['seconds']:.1%}",
            f"under {TARGET_SHARE:.0%}": share < TARGET_SHARE,
            # the whole runs' ratio too (the run's rows are inserted in the write stage,
            # with the outputs); on a shared machine it carries the machine's noise
            "second run / run without history": round(second["seconds"] / without["seconds"],
                                                      3),
            "changes found": changes,
            "store after 1 run MB": round(first_bytes / 1e6, 2),
            "store after 2 runs MB": round(second_bytes / 1e6, 2),
            "MB per run": round((second_bytes - first_bytes) / 1e6, 2),
        })
    return rows


if __name__ == "__main__":
    sizes = tuple(int(a.replace("_", "")) for a in sys.argv[1:]) or (MAX_SIZE,)
    for row in run(sizes):
        print(json.dumps(row, indent=2))
