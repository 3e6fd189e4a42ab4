"""End-to-end bench: ``reconcile run`` on generated data, against a floor.

For each size (declarations):

1. **data** — :mod:`samples.generate` writes ``bench-data/seed<S>-n<N>-v<V>/``
   (declarations, contracts, consistent and planted DfE statements) once; later runs
   reuse it (the cache key is seed + size + generator version). The generator's own
   time and peak memory are recorded when it runs.
2. **floor** — in a fresh process: the raw read of the same ``declarations.xlsx`` by
   the fastest xlsx reader we have (python-calamine ``to_python()``), plus a raw write
   of as many rows (the rows just read) by xlsxwriter in constant-memory mode. No tool
   that reads this workbook and writes one row per declaration can beat it by much.
3. **run** — the real command line in a fresh process, as a user runs it::

       python -m reconcile run --declarations ... --dfe-statements ...planted.xlsx \\
              --contracts .../contracts --out reconciliation.xlsx --as-of ...

   timed from outside (wall clock, interpreter start included), its stages timed from
   its own progress lines (``reconcile: <stage> done in <t>s``: rules, read, evaluate,
   calculate, compare, split, report, write), and its peak resident memory read from
   the kernel's accounting of that child (``os.wait4`` rusage ``ru_maxrss``, the
   figure ``getrusage(RUSAGE_CHILDREN)`` reports, for that one process).

``run(sizes)`` returns one flat dict per size; :mod:`bench.__main__` renders them.
Child modes (used by the above, not by people)::

    python -m bench.bench_pipeline generate OUT SIZE SEED
    python -m bench.bench_pipeline floor DECLARATIONS.xlsx OUT.xlsx
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from bench import DATA_DIR, ROOT, SEED, note

#: the stages ``reconcile run`` reports, in pipeline order
STAGES = ("rules", "read", "evaluate", "calculate", "compare", "split", "report", "write")
_STAGE_LINE = re.compile(r"^reconcile: (\w[\w-]*) done in ([0-9.]+)s", re.MULTILINE)


class Child(NamedTuple):
    returncode: int
    seconds: float
    peak_mb: float
    stdout: str
    stderr: str


def child(command: list[str], cwd: Path = ROOT) -> Child:
    """Run ``command``; wall time and the peak resident memory of that process."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=cwd, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss is in kilobytes on Linux (bytes on macOS)
        scale = 1 / (1024 * 1024) if sys.platform == "darwin" else 1 / 1024
        return Child(process.returncode, seconds, usage.ru_maxrss * scale,
                     out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))


# --- data -----------------------------------------------------------------------------------

def dataset(size: int, seed: int = SEED, regenerate: bool = False) -> tuple[Path, dict]:
    """The generated data of ``size`` declarations (made once, then cached)."""
    from samples.generate import GENERATOR_VERSION

    folder = DATA_DIR / f"seed{seed}-n{size}-v{GENERATOR_VERSION}"
    stamp = folder / "generated.json"
    if stamp.exists() and not regenerate:
        info = json.loads(stamp.read_text(encoding="utf-8"))
        info["cached"] = True
        return folder, info
    if folder.exists():
        shutil.rmtree(folder)
    note(f"generating {size:,} declarations into {folder.relative_to(ROOT)} ...")
    made = child([sys.executable, "-m", "bench.bench_pipeline", "generate", str(folder),
                  str(size), str(seed)])
    if made.returncode != 0:
        raise RuntimeError(f"the generator failed:\n{made.stderr[-3000:]}")
    info = json.loads(made.stdout)
    info.update(total_s=made.seconds, peak_mb=made.peak_mb,
                generated_on=time.strftime("%Y-%m-%d %H:%M"))
    stamp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")  # last: the marker
    info["cached"] = False
    return folder, info


def _generate_child(out: str, size: str, seed: str) -> None:
    from samples.generate import generate

    result = generate(Path(out), int(size), int(seed), planted=True, quiet=False)
    print(json.dumps({"declarations": result.declarations, "participants": result.participants,
                      "seconds": result.seconds, "step_peak_mb": result.peak_mb}))


# --- the floor ------------------------------------------------------------------------------

def _floor_child(declarations: str, out: str) -> None:
    import xlsxwriter
    from python_calamine import CalamineWorkbook

    start = time.perf_counter()
    book = CalamineWorkbook.from_path(declarations)
    rows = book.get_sheet_by_name("Declarations").to_python()
    read = time.perf_counter() - start
    start = time.perf_counter()
    writer = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False,
                                       "strings_to_urls": False, "strings_to_numbers": False})
    sheet = writer.add_worksheet("Declarations")
    for r, row in enumerate(rows):
        sheet.write_row(r, 0, row)
    writer.close()
    write = time.perf_counter() - start
    print(json.dumps({"read_s": read, "write_s": write, "rows": len(rows),
                      "columns": len(rows[0]) if rows else 0}))


def floor(declarations: Path, work: Path) -> dict:
    out = work / "floor.xlsx"
    done = child([sys.executable, "-m", "bench.bench_pipeline", "floor", str(declarations),
                  str(out)])
    if done.returncode != 0:
        raise RuntimeError(f"the floor measurement failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout)
    figures["peak_mb"] = done.peak_mb
    out.unlink(missing_ok=True)
    return figures


# --- the run --------------------------------------------------------------------------------

def reconcile_run(folder: Path, as_of: str, work: Path, engine: str = "auto",
                  with_json: bool = False) -> dict:
    """``reconcile run`` on the planted sample of ``folder``, as a user runs it.

    The workbook only, by default: the floor reads one workbook and writes one, so the
    JSON result (``--json``, another serialisation of the same result) is measured
    only when asked for.
    """
    command = [sys.executable, "-m", "reconcile", "run",
               "--declarations", str(folder / "declarations.xlsx"),
               "--dfe-statements", str(folder / "dfe-statements-planted.xlsx"),
               "--contracts", str(folder / "contracts"),
               "--out", str(work / "reconciliation.xlsx"),
               "--as-of", as_of, "--engine", engine]
    if with_json:
        command += ["--json", str(work / "result.json")]
    done = child(command)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"reconcile run exited {done.returncode}:\n{done.stderr[-3000:]}")
    stages: dict[str, float] = {}
    for name, seconds in _STAGE_LINE.findall(done.stderr):
        stages[name] = stages.get(name, 0.0) + float(seconds)
    sizes = {name: (work / name).stat().st_size for name in ("reconciliation.xlsx", "result.json")
             if (work / name).exists()}
    return {"seconds": done.seconds, "exit": done.returncode, "peak_mb": done.peak_mb,
            "stages": stages, "output_bytes": sizes}


def run(sizes, regenerate: bool = False, engine: str = "auto", with_json: bool = False
        ) -> list[dict]:
    """One row per size: data generation, floor, run, stages, memory, ratios."""
    rows = []
    for size in sizes:
        folder, generated = dataset(size, regenerate=regenerate)
        as_of = _as_of(folder)
        work = Path(tempfile.mkdtemp(prefix=f"run-{size}-", dir=DATA_DIR))
        try:
            note(f"{size:,}: floor (calamine read + xlsxwriter write) ...")
            low = floor(folder / "declarations.xlsx", work)
            note(f"{size:,}: floor {low['read_s'] + low['write_s']:.1f}s; reconcile run ...")
            done = reconcile_run(folder, as_of, work, engine, with_json)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        floor_s = low["read_s"] + low["write_s"]
        stages = done["stages"]
        rules_and_calc = stages.get("evaluate", 0.0) + stages.get("calculate", 0.0)
        row = {
            "declarations": generated.get("declarations", size),
            "with_json": with_json,
            "run_s": done["seconds"],
            "exit": done["exit"],
            "peak_mb": done["peak_mb"],
            "floor_read_s": low["read_s"],
            "floor_write_s": low["write_s"],
            "floor_s": floor_s,
            "floor_peak_mb": low["peak_mb"],
            "ratio": done["seconds"] / floor_s if floor_s else None,
            "evaluate_calculate_share": rules_and_calc / done["seconds"],
            "outside_stages_s": max(done["seconds"] - sum(stages.values()), 0.0),
            "generate_s": generated.get("total_s"),
            "generate_declarations_s": generated.get("seconds", {}).get("declarations"),
            "generate_peak_mb": generated.get("peak_mb"),
            "generate_declarations_peak_mb": generated.get("step_peak_mb", {}).get("declarations"),
            "generated_on": generated.get("generated_on"),
            "generate_cached": generated.get("cached"),
            "output_bytes": done["output_bytes"],
        }
        for name, seconds in stages.items():
            row[f"stage_{name}_s"] = seconds
        note(f"{size:,}: run {done['seconds']:.1f}s = {row['ratio']:.2f}x the floor, "
             f"peak {done['peak_mb']:.0f} MB, exit {done['exit']}")
        rows.append(row)
    return rows


def _as_of(folder: Path) -> str:
    manifest = json.loads((folder / "planted.json").read_text(encoding="utf-8"))
    return manifest["generator"]["as_of"]


if __name__ == "__main__":
    mode, *arguments = sys.argv[1:]
    {"generate": _generate_child, "floor": _floor_child}[mode](*arguments)
