"""End-to-end bench: ``reconcile run`` on generated data, against a floor.

For each size (declarations):

1. **data** — :mod:`samples.generate` writes ``bench-data/seed<S>-n<N>-p<P>-v<V>/``
   (declarations as CSV, and as xlsx while they fit a sheet; contracts; consistent
   and planted DfE statements) for :data:`PROVIDERS` lead providers, every cohort,
   once; later runs reuse it (the cache key is seed + size + providers + generator
   version). The generator's own time and peak memory are recorded when it runs.
2. **floor** — in a fresh process: the raw read of the same ``declarations.csv`` by
   the fastest CSV reader installed (polars, else pyarrow, else the standard
   library's ``csv``), plus a raw write of the same rows by XlsxWriter (``write_row``,
   constant-memory mode; rows past a sheet's 1,048,575 go on a second sheet, as the
   tool's do). No tool that reads this file and writes one row per declaration with
   XlsxWriter can beat it by much.
3. **strong floor** — the same read, and the same rows written by the fastest xlsx
   writer installed (the Rust writers of :mod:`bench.bench_writers`, each tried up to
   :data:`TRY_EVERY_WRITER_UP_TO` declarations, the fastest kept; above that size only
   the one fastest at the size before): what the hardware allows with today's fastest
   libraries.
4. **run** — the real command line in a fresh process, as a user runs it::

       python -m reconcile run --declarations .../declarations.csv \\
              --dfe-statements ...planted.xlsx --contracts .../contracts \\
              --out reconciliation.xlsx --as-of ...

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

#: lead providers of the bench data: a national programme (every cohort the generator
#: makes, 2022-2025, for each)
PROVIDERS = 8
#: Excel's rows below the header row of a sheet
SHEET_ROWS = 1_048_575
#: the Rust writers tried for the strong floor (bench/bench_writers.py compares them)
FAST_WRITERS = ("rustpy-xlsxwriter", "rvgsrust-xlsxwriter", "fastxlsxio")

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

def dataset(size: int, seed: int = SEED, regenerate: bool = False,
            providers: int = PROVIDERS) -> tuple[Path, dict]:
    """The generated data of ``size`` declarations (made once, then cached)."""
    from samples.generate import GENERATOR_VERSION

    folder = DATA_DIR / f"seed{seed}-n{size}-p{providers}-v{GENERATOR_VERSION}"
    stamp = folder / "generated.json"
    if stamp.exists() and not regenerate:
        info = json.loads(stamp.read_text(encoding="utf-8"))
        info["cached"] = True
        return folder, info
    if folder.exists():
        shutil.rmtree(folder)
    note(f"generating {size:,} declarations into {folder.relative_to(ROOT)} ...")
    made = child([sys.executable, "-m", "bench.bench_pipeline", "generate", str(folder),
                  str(size), str(seed), str(providers)])
    if made.returncode != 0:
        raise RuntimeError(f"the generator failed:\n{made.stderr[-3000:]}")
    info = json.loads(made.stdout)
    info.update(total_s=made.seconds, peak_mb=made.peak_mb,
                generated_on=time.strftime("%Y-%m-%d %H:%M"))
    stamp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")  # last: the marker
    info["cached"] = False
    return folder, info


def _generate_child(out: str, size: str, seed: str, providers: str = "2") -> None:
    from samples.generate import generate

    result = generate(Path(out), int(size), int(seed), planted=True, csv_file=True,
                      quiet=False, lead_providers=int(providers))
    print(json.dumps({"declarations": result.declarations, "participants": result.participants,
                      "providers": int(providers),
                      "seconds": result.seconds, "step_peak_mb": result.peak_mb}))


# --- the floor ------------------------------------------------------------------------------

def read_fastest(path: str):
    """The CSV read by the fastest reader installed: (reader, its table, rows as tuples)."""
    try:
        import polars

        frame = polars.read_csv(path)
        return "polars", frame, frame.iter_rows
    except ImportError:
        pass
    try:
        from pyarrow import csv as arrow_csv

        table = arrow_csv.read_csv(path)
        return "pyarrow", table, lambda: (tuple(r.values()) for r in table.to_pylist())
    except ImportError:
        pass
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        rows = [tuple(r) for r in csv.reader(handle)][1:]
    return "csv (standard library)", rows, lambda: iter(rows)


def _floor_child(declarations: str, out: str, writer: str = "xlsxwriter") -> None:
    start = time.perf_counter()
    reader, table, rows = read_fastest(declarations)
    read = time.perf_counter() - start
    n = len(table)
    start = time.perf_counter()
    if writer == "xlsxwriter":
        import xlsxwriter

        book = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False,
                                         "strings_to_numbers": False})
        header = list(table.columns) if reader != "csv (standard library)" else None
        sheet = None
        for i, row in enumerate(rows()):
            r = i % SHEET_ROWS
            if r == 0:
                sheet = book.add_worksheet("Declarations" + (f" ({i // SHEET_ROWS + 1})"
                                                             if i else ""))
                if header:
                    sheet.write_row(0, 0, header)
            sheet.write_row(r + 1, 0, row)
        book.close()
    else:
        _fast_write(writer, reader, table, rows, out)
    write = time.perf_counter() - start
    print(json.dumps({"read_s": read, "write_s": write, "rows": n, "reader": reader,
                      "writer": writer}))


def _fast_write(writer: str, reader: str, table, rows, out: str) -> None:
    """The same rows, a sheet per 1,048,575, by one of the Rust writers."""
    import polars

    frame = table if reader == "polars" else polars.from_arrow(table) if reader == "pyarrow" \
        else polars.DataFrame(table, orient="row")
    parts = [(("Declarations" + (f" ({k + 1})" if k else "")),
              frame.slice(k * SHEET_ROWS, SHEET_ROWS))
             for k in range(max(1, -(-len(frame) // SHEET_ROWS)))]
    if writer == "rustpy-xlsxwriter":
        import rustpy_xlsxwriter

        rustpy_xlsxwriter.write_worksheets(parts, out)
    elif writer == "rvgsrust-xlsxwriter":
        import rvgsrust_xlsxwriter

        book = rvgsrust_xlsxwriter.Workbook(out)
        for name, part in parts:
            sheet = book.add_worksheet(name, constant_memory=True)
            sheet.write_dataframe(0, 0, part)
        book.close()
    elif writer == "fastxlsxio":
        import fastxlsxio

        book = fastxlsxio.XIOWWorkbook(out)
        for name, part in parts:
            sheet = book.add_worksheet(name)
            sheet.write_row(0, 0, list(part.columns))
            start = 1
            for batch in part.iter_slices(10_000):
                sheet.write_rows(start, 0, batch.rows())
                start += len(batch)
        book.save()
    else:
        raise ValueError(f"unknown writer {writer!r}")


def floor(declarations: Path, work: Path, writer: str = "xlsxwriter") -> dict:
    out = work / "floor.xlsx"
    done = child([sys.executable, "-m", "bench.bench_pipeline", "floor", str(declarations),
                  str(out), writer])
    if done.returncode != 0:
        raise RuntimeError(f"the floor measurement ({writer}) failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout)
    figures["peak_mb"] = done.peak_mb
    out.unlink(missing_ok=True)
    return figures


def strong_floor(declarations: Path, work: Path, writers: tuple[str, ...] = FAST_WRITERS
                 ) -> dict | None:
    """The fastest of ``writers`` installed (None when none is installed)."""
    from importlib.util import find_spec

    best = None
    for writer in writers:
        if find_spec(writer.replace("-", "_")) is None or find_spec("polars") is None:
            continue
        try:
            figures = floor(declarations, work, writer)
        except RuntimeError as error:
            note(f"strong floor with {writer} failed: {str(error).splitlines()[0]}")
            continue
        if best is None or figures["write_s"] < best["write_s"]:
            best = figures
    return best


# --- Excel's limits -------------------------------------------------------------------------

_ROW_NUMBER = re.compile(rb'<row r="(\d+)"')
_CELL_COLUMN = re.compile(rb'<c r="([A-Z]+)\d+"')
_TEXT = re.compile(rb"<t(?: [^>]*)?>([^<]*)</t>")
_FORMULA = re.compile(rb"<f(?: [^>]*)?>([^<]*)</f>")
_HYPERLINK = re.compile(rb"<hyperlink ")
_COL_WIDTH = re.compile(rb'<col [^>]*\swidth="([0-9.]+)"')
_ROW_HEIGHT = re.compile(rb'<row [^>]*\sht="([0-9.]+)"')
_BREAK = re.compile(rb"<brk ")
_HEADER_FOOTER = re.compile(rb"<(odd|even|first)(Header|Footer)>([^<]*)</")
_SHEET_NAME = re.compile(rb'<sheet name="([^"]*)"')
_CELL_XFS = re.compile(rb'<cellXfs count="(\d+)"')

#: Excel's specifications and limits (Microsoft): what each measure may reach
EXCEL_LIMITS = {
    "max_row": 1_048_576,  # rows in a worksheet
    "max_column": 16_384,  # columns in a worksheet
    "longest_text": 32_767,  # characters in a cell
    "longest_formula": 8_192,  # characters of a formula's contents
    "longest_sheet_name": 31,  # characters of a sheet's name
    "hyperlinks": 65_530,  # hyperlinks in a worksheet
    "cell_formats": 64_000,  # unique cell formats in a workbook
    "widest_column": 255,  # column width, in characters
    "tallest_row": 409,  # row height, in points
    "page_breaks": 1_026,  # horizontal and vertical page breaks of a sheet
    "longest_header_footer": 255,  # characters in a header or a footer
}


def check_limits(path: Path) -> dict:
    """Every sheet of the workbook against Excel's limits, from its parts.

    Each worksheet part is decompressed as a stream; its highest row number, widest
    column, longest text and formula (with XML escapes counted as one character, text
    in UTF-16 units as Excel counts), hyperlinks, column widths, row heights, page
    breaks and header/footer are measured from the XML itself, not from what the writer
    meant; the sheet names from the workbook part, the cell formats from the styles and
    the shared strings (if any) from their part. ``within_limits``: every measure within
    :data:`EXCEL_LIMITS`; ``past`` names those that are not.
    """
    import zipfile

    sheets = 0
    worst = dict.fromkeys(EXCEL_LIMITS, 0)

    def most(name: str, value: float) -> None:
        if value > worst[name]:
            worst[name] = value

    def scan(whole: bytes, counts: dict[str, int]) -> None:
        rows = _ROW_NUMBER.findall(whole)
        if rows:
            most("max_row", int(rows[-1]))
        for letters in set(_CELL_COLUMN.findall(whole)):
            most("max_column", _column_number(letters))
        # a text's UTF-16 length is at most its UTF-8 length in bytes, so only a text
        # longer in bytes than the longest found so far can be longer: few are decoded
        for text in _TEXT.findall(whole):
            if len(text) > worst["longest_text"]:
                most("longest_text", _utf16_units(text))
        for formula in _FORMULA.findall(whole):
            most("longest_formula", len(_unescape(formula)) if b"&" in formula
                 else len(formula))
        counts["hyperlinks"] += len(_HYPERLINK.findall(whole))
        counts["page_breaks"] += len(_BREAK.findall(whole))
        for width in _COL_WIDTH.findall(whole):
            most("widest_column", float(width))
        for height in _ROW_HEIGHT.findall(whole):
            most("tallest_row", float(height))
        for *_, text in _HEADER_FOOTER.findall(whole):
            most("longest_header_footer", len(_unescape(text)))

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        for name in _SHEET_NAME.findall(archive.read("xl/workbook.xml")):
            most("longest_sheet_name", len(_unescape(name)))
        if "xl/styles.xml" in names:
            xfs = _CELL_XFS.search(archive.read("xl/styles.xml"))
            most("cell_formats", int(xfs.group(1)) if xfs else 0)
        if "xl/sharedStrings.xml" in names:
            for text in _TEXT.findall(archive.read("xl/sharedStrings.xml")):
                most("longest_text", _utf16_units(text))
        for name in names:
            if not name.startswith("xl/worksheets/sheet"):
                continue
            sheets += 1
            counts = {"hyperlinks": 0, "page_breaks": 0}
            carry = b""
            with archive.open(name) as part:
                while block := part.read(8 << 20):
                    data = carry + block
                    cut = data.rfind(b"</c>") + 4  # whole cells only; the rest carries on
                    if cut < 4:
                        carry = data
                        continue
                    whole, carry = data[:cut], data[cut:]
                    scan(whole, counts)
            scan(carry, counts)  # what follows the last cell: links, breaks, footer
            for key, value in counts.items():
                most(key, value)
    past = [k for k, v in worst.items() if v > EXCEL_LIMITS[k]]
    return {"sheets": sheets, **worst, "within_limits": not past, "past": past}


def _unescape(xml_text: bytes) -> str:
    import html

    return html.unescape(xml_text.decode("utf-8"))


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _utf16_units(xml_text: bytes) -> int:
    import html

    text = html.unescape(xml_text.decode("utf-8"))
    return len(text.encode("utf-16-le")) // 2


# --- the run --------------------------------------------------------------------------------

def reconcile_run(folder: Path, as_of: str, work: Path, engine: str = "auto",
                  with_json: bool = False) -> dict:
    """``reconcile run`` on the planted sample of ``folder``, as a user runs it.

    The workbook only, by default: the floor reads one workbook and writes one, so the
    JSON result (``--json``, another serialisation of the same result) is measured
    only when asked for.
    """
    command = [sys.executable, "-m", "reconcile", "run",
               "--declarations", str(folder / "declarations.csv"),
               "--dfe-statements", str(folder / "dfe-statements-planted.xlsx"),
               "--contracts", str(folder / "contracts"),
               "--out", str(work / "reconciliation.xlsx"),
               "--as-of", as_of, "--engine", engine,
               # a history of its own (a first run: nothing to compare), never the user's
               "--history", str(work / "history.sqlite3")]
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
    limits = check_limits(work / "reconciliation.xlsx")
    return {"seconds": done.seconds, "exit": done.returncode, "peak_mb": done.peak_mb,
            "stages": stages, "output_bytes": sizes, "limits": limits}


#: up to this size every Rust writer is tried for the strong floor; above it, only the
#: one that was fastest at the largest size tried (at 2M each try writes the 2M rows
#: again: minutes of a run that makes no figure of its own)
TRY_EVERY_WRITER_UP_TO = 1_000_000


def run(sizes, regenerate: bool = False, engine: str = "auto", with_json: bool = False
        ) -> list[dict]:
    """One row per size: data generation, floor, run, stages, memory, ratios."""
    rows = []
    writers = FAST_WRITERS
    for size in sorted(sizes):
        folder, generated = dataset(size, regenerate=regenerate)
        as_of = _as_of(folder)
        work = Path(tempfile.mkdtemp(prefix=f"run-{size}-", dir=DATA_DIR))
        try:
            note(f"{size:,}: floor (fastest CSV read + xlsxwriter write) ...")
            low = floor(folder / "declarations.csv", work)
            note(f"{size:,}: floor {low['read_s'] + low['write_s']:.1f}s ({low['reader']}); "
                 "strong floor (fastest CSV read + fastest xlsx writer) ...")
            strong = strong_floor(folder / "declarations.csv", work, writers)
            if strong is not None and size >= min(TRY_EVERY_WRITER_UP_TO, max(sizes)):
                writers = (strong["writer"],)
            note(f"{size:,}: reconcile run ...")
            load_before = os.getloadavg()[0]
            done = reconcile_run(folder, as_of, work, engine, with_json)
            load_after = os.getloadavg()[0]
        finally:
            shutil.rmtree(work, ignore_errors=True)
        floor_s = low["read_s"] + low["write_s"]
        strong_s = strong["read_s"] + strong["write_s"] if strong else None
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
            "floor_reader": low["reader"],
            "ratio": done["seconds"] / floor_s if floor_s else None,
            "strong_floor_s": strong_s,
            "strong_floor_read_s": strong["read_s"] if strong else None,
            "strong_floor_write_s": strong["write_s"] if strong else None,
            "strong_floor_writer": strong["writer"] if strong else None,
            "strong_ratio": done["seconds"] / strong_s if strong_s else None,
            "providers": generated.get("providers", PROVIDERS),
            "limits": done["limits"],
            "evaluate_calculate_share": rules_and_calc / done["seconds"],
            "outside_stages_s": max(done["seconds"] - sum(stages.values()), 0.0),
            "generate_s": generated.get("total_s"),
            "generate_declarations_s": generated.get("seconds", {}).get("declarations"),
            "generate_peak_mb": generated.get("peak_mb"),
            "generate_declarations_peak_mb": generated.get("step_peak_mb", {}).get("declarations"),
            "generated_on": generated.get("generated_on"),
            "generate_cached": generated.get("cached"),
            # what the generator wrote: an xlsx only within Excel's row limit
            "generate_files": sorted(p.name for p in folder.glob("declarations.*")),
            "output_bytes": done["output_bytes"],
            "load": (load_before, load_after),
        }
        for name, seconds in stages.items():
            row[f"stage_{name}_s"] = seconds
        note(f"{size:,}: run {done['seconds']:.1f}s = {row['ratio']:.2f}x the floor"
             + (f", {row['strong_ratio']:.2f}x the strong floor" if strong_s else "")
             + f", peak {done['peak_mb']:.0f} MB, exit {done['exit']}, "
             f"within Excel's limits: {done['limits']['within_limits']}")
        rows.append(row)
    return rows


def _as_of(folder: Path) -> str:
    manifest = json.loads((folder / "planted.json").read_text(encoding="utf-8"))
    return manifest["generator"]["as_of"]


if __name__ == "__main__":
    mode, *arguments = sys.argv[1:]
    {"generate": _generate_child, "floor": _floor_child}[mode](*arguments)
