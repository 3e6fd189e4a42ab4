"""Bench: an upload on the page (``reconcile serve``) against ``reconcile run`` on the same files.

For each size (100,000 declarations by default: the issue's target; sizes above that
are skipped), the generated national sample of :mod:`bench.bench_pipeline`
(declarations CSV, DfE's planted statements, the contracts) is run twice, in the same
bench run, alternating:

* **command line**: ``python -m reconcile run --declarations declarations.csv ...
  --out reconciliation.xlsx --json result.json --history ../../history.sqlite3`` in a
  folder holding the files, two below its own history store, as the page runs an upload
  (a fresh process, so starting Python counts, as it does for a user);
* **page**: a ``reconcile serve`` started beforehand (a user's page is already open);
  the clock runs from the start of ``POST /runs`` (the files sent as the browser sends
  them, multipart) through the progress polls (every 50 ms) to the Summary page's HTML
  received. The page also writes the workbook and the JSON, as the command line above.

Reported: the best of the two timings of each, their ratio (target: at most 1.2), the
upload and the Summary's own times, and whether the page's workbook and JSON are the
command line's bytes (each side's last round: run 2 of its own history). Run:
``python -m bench.bench_serve [SIZE ...]``, or ``make bench``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from bench import DATA_DIR, note
from bench.bench_pipeline import _as_of, child, dataset

TARGET_RATIO = 1.2
MAX_SIZE = 100_000
ROUNDS = 2


def _files(folder: Path) -> list[tuple[str, Path]]:
    files = [("declarations", folder / "declarations.csv"),
             ("dfe_statements", folder / "dfe-statements-planted.xlsx")]
    return files + [("contracts", p) for p in sorted((folder / "contracts").glob("*.yaml"))]


def _multipart(files: list[tuple[str, Path]], fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f"{value}\r\n".encode())
    for field, path in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                     f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                     .encode() + path.read_bytes() + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # the 303's address is what we want
        return None


def _request(url: str, token: str, data: bytes | None = None, content_type: str = "",
             accept: str = "text/html") -> tuple[int, Any, bytes]:
    headers = {"Authorization": f"Bearer {token}", "Accept": accept}
    if content_type:
        headers["Content-Type"] = content_type
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, data=data, headers=headers),
                         timeout=600) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers, answer.read()


def _page_run(base: str, token: str, files, as_of: str) -> dict:
    body, content_type = _multipart(files, {"as_of": as_of})
    start = time.perf_counter()
    status, headers, _ = _request(f"{base}/runs", token, body, content_type)
    uploaded = time.perf_counter() - start
    if status != 303:
        raise RuntimeError(f"POST /runs answered {status}")
    location = base + headers.get("Location")
    while True:
        _, _, state = _request(f"{location}/progress", token, accept="application/json")
        if json.loads(state)["status"] not in ("queued", "running"):
            break
        time.sleep(0.05)
    done = time.perf_counter()
    status, _, summary = _request(location, token)
    end = time.perf_counter()
    if status != 200 or b"<h1 class=\"govuk-heading-l\">Summary</h1>" not in summary:
        raise RuntimeError(f"the Summary did not come ({status})")
    return {"seconds": end - start, "upload_s": uploaded, "summary_s": end - done,
            "location": location}


def run(sizes=(MAX_SIZE,)) -> list[dict]:
    rows = []
    for size in [s for s in sizes if s <= MAX_SIZE] or [MAX_SIZE]:
        folder, generated = dataset(size)
        as_of = _as_of(folder)
        work = Path(tempfile.mkdtemp(prefix=f"serve-{size}-", dir=DATA_DIR))
        server = None
        try:
            files = _files(folder)
            # the command line as the page runs it: in a run folder two below its own
            # history store (the page records every upload in DATA/history.sqlite3), so
            # each round is the same run of the same history on both sides
            cli_dir = work / "cli" / "runs" / "run"
            cli_dir.mkdir(parents=True)
            for _, path in files:
                shutil.copyfile(path, cli_dir / path.name)
            command = [sys.executable, "-m", "reconcile", "run", "--quiet", "--as-of", as_of,
                       "--out", "reconciliation.xlsx", "--json", "result.json",
                       "--history", str(Path("..", "..", "history.sqlite3"))]
            for field, path in files:
                command += [f"--{field.replace('_', '-')}", path.name]
            server = subprocess.Popen(
                [sys.executable, "-m", "reconcile", "serve", "--no-browser", "--port", "0",
                 "--data", str(work / "data")], stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True)
            line = server.stdout.readline()
            match = re.match(r"reconcile: serving on (http://[^/]+)/\?token=(\S+)", line)
            if not match:
                raise RuntimeError(f"reconcile serve printed {line!r}")
            base, token = match.groups()
            cli_times, page_times = [], []
            for n in range(ROUNDS):
                note(f"serve {size:,}: reconcile run, round {n + 1} ...")
                done = child(command, cwd=cli_dir)
                if done.returncode not in (0, 1):
                    raise RuntimeError(f"reconcile run exited {done.returncode}: "
                                       f"{done.stderr[-2000:]}")
                cli_times.append(done.seconds)
                note(f"serve {size:,}: the page, round {n + 1} ...")
                page_times.append(_page_run(base, token, files, as_of))
            best = min(page_times, key=lambda r: r["seconds"])
            # the last round of each: the same run (2) of each side's history
            last = page_times[-1]["location"].rsplit("/", 1)[1]
            run_folder = work / "data" / "runs" / last
            same = all((run_folder / name).read_bytes() == (cli_dir / name).read_bytes()
                       for name in ("reconciliation.xlsx", "result.json"))
            cli_s = min(cli_times)
            row = {"declarations": generated.get("declarations", size),
                   "command_line_s": cli_s, "page_s": best["seconds"],
                   "ratio": best["seconds"] / cli_s, "target": TARGET_RATIO,
                   "met": best["seconds"] / cli_s <= TARGET_RATIO,
                   "upload_s": best["upload_s"], "summary_page_s": best["summary_s"],
                   "same_bytes": same}
            note(f"serve {size:,}: page {row['page_s']:.1f}s, command line {cli_s:.1f}s: "
                 f"{row['ratio']:.2f}x (target {TARGET_RATIO}x); same bytes: {same}")
            rows.append(row)
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=60)
                server.stdout.close()
            shutil.rmtree(work, ignore_errors=True)
    return rows


if __name__ == "__main__":
    sizes = tuple(int(s.replace(",", "").replace("_", "")) for s in sys.argv[1:]) or (MAX_SIZE,)
    for r in run(sizes):
        print(json.dumps(r))
