"""``make bench`` (``python -m bench``): run every bench, write ``docs/performance.md``.

Runs :mod:`bench.bench_pipeline` (the end-to-end ``reconcile run`` against its floor)
and the other areas' ``bench/bench_<area>.py`` modules that are present (engine,
calculate, read: each ``run(sizes) -> list[dict]``), skipping a missing one with a
note. Every figure of a report comes from the one run that wrote it, on the machine
it describes.

    python -m bench                 # 10k, 100k, 1M and 2M declarations -> docs/performance.md
    python -m bench --quick         # 10k only -> bench-data/performance-quick.md
    python -m bench --sizes 10000,50000 --out /tmp/perf.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import subprocess
import sys
import time
import traceback
from pathlib import Path

from bench import AREA_MAX_SIZE, DATA_DIR, FULL_SIZES, QUICK_SIZES, ROOT, SEED, machine, note

#: the other areas' bench modules (bench/bench_<area>.py), in report order; any other
#: bench/bench_*.py found is run after them
AREAS = ("engine", "calculate", "read")

#: targets for the largest (national) size: issue 16 (issue 7's were 1.5x and 2 GB at 1M)
TARGET_SIZE = 2_000_000
TARGET_RATIO = 1.0
TARGET_PEAK_MB = 2560  # 2.5 GiB (ru_maxrss is counted in KiB: MB here are MiB)
TARGET_RULES_SHARE = 0.10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k declarations only")
    parser.add_argument("--sizes", help="comma-separated sizes, e.g. 10000,100000")
    parser.add_argument("--out", type=Path, help="where to write the report")
    parser.add_argument("--only", help="comma-separated: pipeline and/or area names")
    parser.add_argument("--regenerate", action="store_true", help="regenerate the bench data")
    parser.add_argument("--engine", default="auto", choices=("auto", "durable", "python"))
    parser.add_argument("--with-json", action="store_true",
                        help="reconcile run also writes its JSON result (--json)")
    args = parser.parse_args(argv)
    sizes = (tuple(int(s.replace("_", "")) for s in args.sizes.split(",")) if args.sizes
             else QUICK_SIZES if args.quick else FULL_SIZES)
    out = args.out or (DATA_DIR / "performance-quick.md" if args.quick or args.sizes
                       else ROOT / "docs" / "performance.md")
    only = set(args.only.split(",")) if args.only else None
    DATA_DIR.mkdir(exist_ok=True)
    started = time.time()
    about = machine()
    note(f"sizes {', '.join(f'{s:,}' for s in sizes)} on {about['cores']} core(s), "
         f"{about['memory']}, {about['cpu']}")

    sections: list[str] = []
    pipeline_rows: list[dict] = []
    if only is None or "pipeline" in only:
        try:
            from bench import bench_pipeline

            pipeline_rows = bench_pipeline.run(sizes, regenerate=args.regenerate,
                                               engine=args.engine, with_json=args.with_json)
        # a failed bench is reported in the document; the others still run
        except Exception as error:  # noqa: BLE001
            note(f"the pipeline bench failed: {error}")
            sections.append("## End to end\n\nThe pipeline bench failed in this run:\n\n"
                            f"```\n{_tail(error)}\n```\n")
        else:
            sections.append(render_pipeline(pipeline_rows))
    for area in areas():
        if only is not None and area not in only:
            continue
        sections.append(run_area(area, tuple(s for s in sizes if s <= AREA_MAX_SIZE)
                                 or (min(sizes),)))

    text = render_report(about, sizes, sections, started, args)
    _replace(out, text)
    note(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    national = next((r for r in pipeline_rows if r["declarations"] >= TARGET_SIZE), None)
    if national is not None and out == ROOT / "docs" / "performance.md":
        scale = ROOT / "docs" / "scale.md"
        _replace(scale, render_scale(scale.read_text(encoding="utf-8"), national, about, started))
        note("wrote docs/scale.md (its measured section)")
    return 0


def _replace(path: Path, text: str) -> None:
    """``path`` holds ``text``, whole (a temporary file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


#: docs/scale.md's measured section lies between these lines
SCALE_FROM = "<!-- measured: written by make bench (bench/__main__.py, render_scale) -->"
SCALE_TO = "<!-- /measured -->"
#: what each stage of reconcile run is, for docs/scale.md
STAGE_WORDS = {
    "rules": "the rulebook and contracts loaded and checked",
    "read": "CSV streamed in chunks of 25,000 records, converted column by column",
    "evaluate": "eligibility rules, once per distinct fact signature",
    "calculate": "statement attachment, banding, fees, uplifts, clawbacks, service fees",
    "compare": "every statement against DfE's, line by line",
    "split": "each statement divided between delivery partners",
    "report": "the workbook as a value",
    "write": "the sheets' XML, deflated on the second core, into the workbook",
    "history": "the run recorded in the history store (a line per declaration, statements, "
               "findings)",
}


def render_scale(text: str, r: dict, about: dict, started: float) -> str:
    """docs/scale.md with its measured section made from ``r``, the national row of this
    run (so that page and performance.md always show the same run)."""
    if SCALE_FROM not in text or SCALE_TO not in text:
        raise ValueError(f"docs/scale.md has lost its markers {SCALE_FROM!r} ... {SCALE_TO!r}")
    n = r["declarations"]
    load = r.get("load") or (None, None)
    when = dt.datetime.fromtimestamp(started).strftime("%Y-%m-%d")
    lines = [
        SCALE_FROM,
        f"`make bench` runs `reconcile run` on a generated national sample: {n:,} "
        f"declarations of {r.get('providers', '?')} lead providers, every cohort the generator "
        "makes, as CSV, against DfE statements with planted discrepancies "
        "(`bench/bench_pipeline.py`; this section is written by the same run as "
        f"[performance.md](performance.md)). The run of {when} ({about['cores']} cores; load "
        f"average {load[0]:.1f} when it started and {load[1]:.1f} when it ended"
        + (f": above {about['cores']}, other work shared the cores, so seconds are "
           "pessimistic; compare the ratios):" if max(load) > int(about["cores"]) else
           ": the cores were not shared):") if load[0] is not None else
        f"`make bench` runs `reconcile run` on a generated national sample: {n:,} "
        f"declarations (run of {when}):",
        "",
        f"| stage | seconds at {n / 1e6:g}M | per million | what it is |",
        "| --- | ---: | ---: | --- |",
    ]
    for stage, words in STAGE_WORDS.items():
        seconds = r.get(f"stage_{stage}_s")
        if seconds is None:
            continue
        lines.append(f"| {stage} | {seconds:.1f} | {seconds / n * 1e6:.1f} | {words} |")
    limits = r.get("limits") or {}
    lines += [
        f"| **whole run** | **{r['run_s']:.1f}** | {r['run_s'] / n * 1e6:.1f} | "
        f"**{r['ratio']:.2f}× the floor** (raw read + XlsxWriter write of the same rows: "
        f"{r['floor_s']:.0f} s); {r['strong_ratio']:.2f}× the strong floor "
        f"({r['strong_floor_writer']}: {r['strong_floor_s']:.0f} s) |"
        if r.get("strong_ratio") is not None else
        f"| **whole run** | **{r['run_s']:.1f}** | {r['run_s'] / n * 1e6:.1f} | "
        f"**{r['ratio']:.2f}× the floor** ({r['floor_s']:.0f} s) |",
        "",
        f"Peak memory {r['peak_mb']:,.0f} MiB (the target: under {TARGET_PEAK_MB / 1024:.1f} "
        f"GiB: {'met' if r['peak_mb'] < TARGET_PEAK_MB else '**not met**'}), about {r['peak_mb'] / 1024 / (n / 1e6):.1f} GiB per million declarations: "
        "the declarations' fields, the evaluation's columns, the attributions and the split, "
        "and one chunk of the input at a time. Rule evaluation and calculation take "
        f"{r['evaluate_calculate_share']:.1%} of the run. The workbook has "
        f"{limits.get('sheets', 0):,} sheets; past Excel's 1,048,576 rows the Declarations "
        "sheet continues on \"Declarations (2)\", and every sheet was checked against "
        "Excel's limits from the file's parts: "
        + ("within them." if limits.get("within_limits") else
           f"**past** {', '.join(limits.get('past', ()))}."),
        "",
        *_one_machine(r, about),
        SCALE_TO,
    ]
    start = text.index(SCALE_FROM)
    end = text.index(SCALE_TO) + len(SCALE_TO)
    return text[:start] + "\n".join(lines) + text[end:]


def _one_machine(r: dict, about: dict) -> list[str]:
    """What the national row says one machine holds: memory and time per million
    declarations, and where this machine's memory would run out at that rate."""
    n_m = r["declarations"] / 1e6
    gib_per_m = r["peak_mb"] / 1024 / n_m
    memory = about.get("memory", "").split()
    ceiling = (f" at that rate this machine's {about['memory']} would hold roughly "
               f"{float(memory[0]) / gib_per_m:.0f} million declarations, "
               if memory and memory[0].replace(".", "", 1).isdigit() else " ")
    return [
        f"So one machine holds a national run: about {gib_per_m:.1f} GiB and "
        f"{r['run_s'] / n_m:.0f} seconds of work per million declarations (the history "
        "store's line per declaration included). Memory is the first limit:"
        f"{ceiling}and the workbook, not the calculation, is the largest cost long before "
        "that."]


def areas() -> list[str]:
    """The expected areas, then any other ``bench/bench_<area>.py`` present."""
    found = sorted(p.stem[len("bench_"):] for p in Path(__file__).parent.glob("bench_*.py"))
    return [*AREAS, *(a for a in found if a not in AREAS and a != "pipeline")]


def run_area(area: str, sizes) -> str:
    """One area's ``bench_<area>.run(sizes)`` as a section, or a note why not."""
    name = f"bench.bench_{area}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        note(f"bench/bench_{area}.py is not there yet: skipped")
        return f"## {area.capitalize()}\n\n`bench/bench_{area}.py` was not present: skipped.\n"
    note(f"{area} ...")
    start = time.perf_counter()
    try:
        rows = module.run(sizes)
    except Exception as error:  # noqa: BLE001 - reported, and the other benches still run
        note(f"bench/bench_{area}.py failed: {error}")
        return (f"## {area.capitalize()}\n\n`bench/bench_{area}.py` failed in this run:\n\n"
                f"```\n{_tail(error)}\n```\n")
    took = time.perf_counter() - start
    doc = (module.__doc__ or "").strip().split("\n\n")[0]
    notes = getattr(module, "notes", None)  # what the figures mean, in the run's terms
    return (f"## {area.capitalize()} (`bench/bench_{area}.py`, {took:.0f}s)\n\n"
            + (f"{doc}\n\n" if doc else "") + markdown_table(rows) + "\n"
            + (notes(rows) + "\n" if notes else ""))


def _tail(error: BaseException) -> str:
    text = "".join(traceback.format_exception(error))
    return "\n".join(text.strip().splitlines()[-15:])


# --- rendering ------------------------------------------------------------------------------

def fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.3g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {fmt(v)}" for k, v in value.items())
    return str(value).replace("|", "\\|")


def markdown_table(rows: list[dict]) -> str:
    if not rows:
        return "(no rows)\n"
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(fmt(row.get(c)) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} MB"


def render_pipeline(rows: list[dict]) -> str:
    """The end-to-end section: whole run vs floor, stages, memory, generator."""
    out = ["## End to end: `reconcile run` (`bench/bench_pipeline.py`)\n",
           ("Generated data (`python -m samples.generate --planted --csv --providers "
            f"{rows[0].get('providers', 8) if rows else 8}`, seed {SEED}: a national sample, "
            "every provider and cohort the generator makes), run against the planted DfE "
            "statements, exactly as a user runs it (`python -m reconcile run --declarations "
            "declarations.csv ... --out reconciliation.xlsx`, a fresh process; wall clock "
            "includes starting Python; the JSON result is left out, as the floors write one "
            "workbook, unless `--with-json`). **Floor** = raw read of the same "
            "`declarations.csv` with the fastest CSV reader installed "
            f"({rows[0].get('floor_reader', '?') if rows else '?'}) + raw write of the same "
            "rows with XlsxWriter's `write_row` in constant-memory mode (a second sheet past "
            "1,048,575 rows), in a fresh process in the same run. **Strong floor** = the same "
            "read + the same rows written by the fastest xlsx writer installed (each Rust "
            "writer of `bench/bench_writers.py` tried up to 1,000,000 declarations, the "
            "fastest kept; at 2,000,000 the one fastest at 1,000,000). **Peak** = the "
            "run's peak resident memory (`ru_maxrss` of that child, MiB). **Limits** = every "
            "part of the workbook opened and measured from its XML against Excel's limits "
            "(`bench_pipeline.EXCEL_LIMITS`): rows, columns, longest text and formula, sheet "
            "names, hyperlinks and page breaks per sheet, cell formats, column widths, row "
            "heights, headers and footers. **Load** = the machine's 1-minute load average "
            "when the run started and ended (2 cores: above 2, other work shared them).\n"),
           ("| declarations | whole run | floor (read + write) | run ÷ floor | strong floor "
            "(read + write, writer) | run ÷ strong floor | peak memory | evaluate + calculate "
            "| sheets, last row, longest text, formula, links a sheet | load | exit |"),
           "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"]
    for r in rows:
        strong = ("–" if r.get("strong_floor_s") is None else
                  f"{r['strong_floor_s']:.1f}s ({r['strong_floor_read_s']:.1f} + "
                  f"{r['strong_floor_write_s']:.1f}, {r['strong_floor_writer']})")
        strong_ratio = "–" if r.get("strong_ratio") is None else f"{r['strong_ratio']:.2f}×"
        limits = r.get("limits") or {}
        checked = (f"{limits.get('sheets', 0):,} sheets, row {limits.get('max_row', 0):,}, "
                   f"text {limits.get('longest_text', 0):,}, formula "
                   f"{limits.get('longest_formula', 0):,} chars, "
                   f"{limits.get('hyperlinks', 0):,} links: "
                   + ("within" if limits.get("within_limits")
                      else f"**past** ({', '.join(limits.get('past', ()))})")
                   if limits else "–")
        load = r.get("load")
        load_text = f"{load[0]:.1f} → {load[1]:.1f}" if load else "–"
        out.append(
            f"| {r['declarations']:,} | {r['run_s']:.1f}s | {r['floor_s']:.1f}s "
            f"({r['floor_read_s']:.1f} + {r['floor_write_s']:.1f}) | "
            f"**{r['ratio']:.2f}×** | {strong} | "
            f"{strong_ratio} | "
            f"{_mb(r['peak_mb'])} | "
            f"{r['evaluate_calculate_share']:.1%} of the run | {checked} | {load_text} | "
            f"{r['exit']} |")
    stages = [s for s in ("rules", "read", "evaluate", "calculate", "compare", "split",
                          "report", "write")
              if any(f"stage_{s}_s" in r for r in rows)]
    extra = sorted({k[6:-2] for r in rows for k in r
                    if k.startswith("stage_") and k[6:-2] not in stages})
    stages += extra
    out += ["", ("Stages (seconds and share of the whole run; *outside* = starting Python, "
                 "imports and reading the options):\n"),
            "| declarations | " + " | ".join(stages) + " | outside |",
            "|---:|" + "---:|" * (len(stages) + 1)]
    for r in rows:
        cells = []
        for s in stages:
            v = r.get(f"stage_{s}_s")
            cells.append("–" if v is None else f"{v:.2f}s ({v / r['run_s']:.0%})")
        o = r["outside_stages_s"]
        out.append(f"| {r['declarations']:,} | " + " | ".join(cells)
                   + f" | {o:.2f}s ({o / r['run_s']:.0%}) |")
    out += ["", "Sizes: output workbook and JSON of each run:\n",
            "| declarations | reconciliation.xlsx | result.json | floor process peak |",
            "|---:|---:|---:|---:|"]
    for r in rows:
        b = r.get("output_bytes", {})
        out.append(f"| {r['declarations']:,} | {_bytes(b.get('reconciliation.xlsx'))} | "
                   f"{_bytes(b.get('result.json'))} | {_mb(r.get('floor_peak_mb'))} |")
    out += ["", "### Targets\n"]
    target = next((r for r in rows if r["declarations"] >= TARGET_SIZE), None)
    if target is None:
        largest = max(rows, key=lambda r: r["declarations"])
        out.append(f"The targets are set at {TARGET_SIZE:,} declarations; this run went up to "
                   f"{largest['declarations']:,} only, so they are shown for that size as an "
                   "indication, not a verdict.\n")
        target = largest
    limits = target.get("limits") or {}
    checks = [
        (f"whole run within {TARGET_RATIO}× the floor", target["ratio"] <= TARGET_RATIO,
         f"{target['ratio']:.2f}×"),
        (f"peak memory under {TARGET_PEAK_MB / 1024:.1f} GiB",
         target["peak_mb"] < TARGET_PEAK_MB, _mb(target["peak_mb"])),
        ("every sheet within Excel's limits (parts opened)", bool(limits.get("within_limits")),
         f"{limits.get('sheets', 0):,} sheets, last row {limits.get('max_row', 0):,}, "
         f"formula {limits.get('longest_formula', 0):,} chars, sheet name "
         f"{limits.get('longest_sheet_name', 0)} chars, {limits.get('cell_formats', 0)} "
         f"formats" + (f"; past: {', '.join(limits['past'])}" if limits.get("past") else "")),
        (f"rule evaluation + calculation under {TARGET_RULES_SHARE:.0%} of the run",
         target["evaluate_calculate_share"] < TARGET_RULES_SHARE,
         f"{target['evaluate_calculate_share']:.1%}"),
    ]
    out += [f"At {target['declarations']:,} declarations:\n", "| target | measured | met |",
            "|---|---:|:---:|"]
    out += [f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, ok, value in checks]
    if target.get("strong_ratio") is not None:
        out += [f"| (no target) ratio to the strong floor | {target['strong_ratio']:.2f}× "
                f"({target['strong_floor_writer']}) | – |"]
    out += ["", *_target_notes(target)]
    out += ["", "### The generator (`samples/generate.py`)\n",
            ("Declarations are generated participant by participant and written as CSV "
             "and, within Excel's row limit, as xlsx with xlsxwriter in constant-memory "
             "mode (*written*: the files; past the limit the generator writes CSV only, "
             "which is why the largest size is quicker per declaration); *declarations*: "
             "time, and the process's peak memory by then; *with DfE side* adds running the "
             "pipeline on them (in the same process, so its peak is the pipeline's) and "
             "writing the consistent and planted DfE statements.\n"),
            ("| declarations | written | declarations | their peak | with DfE side | its peak "
             "| measured |"),
            "|---:|---|---:|---:|---:|---:|---|"]
    for r in rows:
        rate = (f" ({r['declarations'] / r['generate_declarations_s']:,.0f}/s)"
                if r.get("generate_declarations_s") else "")
        when = ("when generated, " + str(r.get("generated_on"))) if r.get("generate_cached") \
            else "in this run"
        written = ", ".join(r.get("generate_files") or ()) or "–"
        out.append(f"| {r['declarations']:,} | {written} | "
                   f"{fmt(r.get('generate_declarations_s'))}s{rate} | "
                   f"{_mb(r.get('generate_declarations_peak_mb'))} | "
                   f"{fmt(r.get('generate_s'))}s | {_mb(r.get('generate_peak_mb'))} | {when} |")
    return "\n".join(out) + "\n"


def _target_notes(r: dict) -> list[str]:
    """What the figures mean, in the terms of this run."""
    notes = []
    stages = {k[6:-2]: v for k, v in r.items() if k.startswith("stage_")}
    if r["ratio"] < 1 and "write" in stages:
        notes.append(
            f"- The run beats its floor: the floor writes with xlsxwriter's public API (one "
            f"`write_row` per row, {r['floor_write_s']:.0f}s), while `reconcile/write.py` "
            f"emits the same constant-memory XML itself (its whole workbook, every sheet: "
            f"{stages['write']:.0f}s). Against the read floor alone the run takes "
            f"{r['run_s'] / r['floor_read_s']:.1f}× (read stage {stages.get('read', 0):.0f}s vs "
            f"raw read {r['floor_read_s']:.0f}s).")
    if r.get("floor_peak_mb") and r["peak_mb"] >= TARGET_PEAK_MB:
        notes.append(
            f"- Peak memory: the floor process alone (the fastest reader's `to_python()` of "
            f"the whole sheet, then writing it) peaked at {_mb(r['floor_peak_mb'])}, the run "
            f"at {_mb(r['peak_mb'])}: holding the whole sheet as Python rows already exceeds "
            "the target, so meeting it needs a read that does not hold the whole sheet at "
            "once.")
    share = r["evaluate_calculate_share"]
    notes.append(f"- Rule evaluation and calculation take {share:.1%} of the run; the rest is "
                 "reading, comparing, splitting, building and writing the workbook.")
    return notes


def _bytes(n: int | None) -> str:
    if n is None:
        return "–"
    return f"{n / 1024 / 1024:,.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:,.0f} KB"


def _git_commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, timeout=10, check=False)
        # the two pages the bench itself writes are not changes to what it measured
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":!docs/performance.md", ":!docs/scale.md"],
                               cwd=ROOT, capture_output=True, text=True, timeout=10,
                               check=False)
        if done.returncode == 0:
            return done.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip()
                                          else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def render_report(about: dict, sizes, sections: list[str], started: float, args) -> str:
    took = time.time() - started
    command = "python -m bench" + (" --quick" if args.quick else "") + (
        f" --sizes {args.sizes}" if args.sizes else "")
    lines = [
        "# Performance",
        "",
        (f"Written by `{command}` (`make bench`) on "
         f"{dt.datetime.fromtimestamp(started).strftime('%Y-%m-%d %H:%M')}, in {took / 60:.0f} "
         f"minutes, at commit {_git_commit()}. Every figure below comes from this one run; "
         "compare ratios rather than seconds across machines. Rerun `make bench` to "
         "refresh it (`python -m bench --quick` for a 10k-only check while developing)."),
        "",
        "## Machine",
        "",
        f"- cores available: {about['cores']} (`nproc`)",
        f"- memory: {about['memory']}",
        f"- CPU: {about['cpu']}",
        f"- Python: {about['python']}, {about['os']}",
    ]
    if "load" in about:
        lines.append(f"- load average: {about['load']} — the machine may be shared, "
                     "which shows in wall-clock figures")
    lines += ["", f"Sizes: {', '.join(f'{s:,}' for s in sizes)} declarations.", ""]
    return "\n".join(lines) + "\n" + "\n".join(sections)


if __name__ == "__main__":
    sys.exit(main())
