"""Benchmarks (``make bench`` = ``python -m bench``): how fast, how much memory, against a floor.

Not part of the product (setup.cfg installs only ``reconcile``); run from a checkout.

* :mod:`bench.bench_pipeline` — the end-to-end ``reconcile run`` at 10k, 100k, 1M and
  2M declarations of generated data (:mod:`samples.generate`, a national sample of
  eight providers as CSV, cached in ``bench-data/``), each stage timed, peak memory,
  the workbook checked against Excel's limits, and the ratio of the whole run to two
  floors: the fastest raw read of the same CSV plus a raw write of the same rows with
  XlsxWriter, and with the fastest xlsx writer installed.
* ``bench/bench_<area>.py`` of the other areas (engine, calculate, read): each exposes
  ``run(sizes) -> list[dict]`` (rows of measured figures) and prints progress to
  standard error; :mod:`bench.__main__` runs whichever are present.

Results go to ``docs/performance.md`` with the machine described; ``--quick`` runs
10k only and writes ``bench-data/performance-quick.md`` instead.

Benchmarks are never unit tests: nothing here asserts a time (STYLE: no timed tests).
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench-data"

#: sizes of a full run and of ``--quick``; 2,000,000 is the national scale (issue 16)
FULL_SIZES = (10_000, 100_000, 1_000_000, 2_000_000)
#: the other areas' benches go up to this size (their own inputs are workbooks)
AREA_MAX_SIZE = 1_000_000
QUICK_SIZES = (10_000,)

#: the seed of every generated bench data set (the cache key is seed + size)
SEED = 7


def note(text: str) -> None:
    """Progress on standard error (standard output stays clean)."""
    print(f"bench: {text}", file=sys.stderr, flush=True)


def machine() -> dict[str, str]:
    """What the figures were measured on: cores, memory, CPU, Python, OS."""
    info = {"python": f"{platform.python_implementation()} {platform.python_version()}",
            "os": f"{platform.system()} {platform.release()}"}
    try:
        info["cores"] = str(len(os.sched_getaffinity(0)))
    except AttributeError:
        info["cores"] = str(os.cpu_count())
    info["cpu"] = _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown"
    total = _proc_field("/proc/meminfo", "MemTotal")
    if total and total.split()[0].isdigit():
        info["memory"] = f"{int(total.split()[0]) / 1024 / 1024:.1f} GiB"
    else:
        info["memory"] = "unknown"
    try:
        load = os.getloadavg()
        info["load"] = f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min, at start)"
    except OSError:
        pass
    return info


def _proc_field(path: str, name: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == name:
                    return value.strip()
    except OSError:
        return None
    return None
