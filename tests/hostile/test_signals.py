"""A run stopped by SIGTERM, Ctrl-C or kill -9 leaves no partial output; SIGTERM and
Ctrl-C say so and exit 143/130 without a traceback, even during start-up; the next
run removes what kill -9 left (issue 12). Real signals sent to a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hostile.files import CONTRACTS, DECLARATIONS_XLSX, STATEMENTS_XLSX, cli

ROOT = Path(__file__).resolve().parents[2]

# The real program, its workbook writer slowed down at one point: the temporary file
# is complete and the rename not yet done. The test waits for the marker, then signals.
WRAPPER = """
import pathlib, sys, time
import reconcile.pipeline as pipeline
real = pipeline.write_workbook
marker = pathlib.Path(sys.argv[1])
def slow(book, path):
    real(book, path)
    marker.write_text(str(path))
    time.sleep(120)
pipeline.write_workbook = slow
sys.argv = ["reconcile", *sys.argv[2:]]
from reconcile.entry import main
main()
"""


def _start_mid_write(tmp_path: Path, out: Path, json_out: Path) -> tuple[subprocess.Popen, Path]:
    wrapper = tmp_path / "slow_reconcile.py"
    wrapper.write_text(WRAPPER, encoding="utf-8")
    marker = tmp_path / "marker"
    process = subprocess.Popen(
        [sys.executable, str(wrapper), str(marker), "run", "--declarations",
         str(DECLARATIONS_XLSX), "--dfe-statements", str(STATEMENTS_XLSX), "--contracts",
         str(CONTRACTS), "--out", str(out), "--json", str(json_out), "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 120
    while not marker.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"never reached the write: {process.communicate()}")
        time.sleep(0.02)
    time.sleep(0.05)
    return process, Path(marker.read_text(encoding="utf-8"))


def _temporaries(folder: Path, out: Path) -> list[Path]:
    return sorted(folder.glob(f".{out.name}.reconcile-*.tmp"))


@pytest.mark.slow
def test_sigterm_mid_write_removes_the_temporary_files_and_writes_nothing(tmp_path):
    out, json_out = tmp_path / "r.xlsx", tmp_path / "r.json"
    process, temporary = _start_mid_write(tmp_path, out, json_out)
    assert temporary.exists() and temporary.parent == tmp_path  # mid-write, beside it
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "interrupted; nothing was written" in stderr
    assert "Traceback" not in stderr
    assert not out.exists() and not json_out.exists()
    assert _temporaries(tmp_path, out) == [] and _temporaries(tmp_path, json_out) == []


@pytest.mark.slow
def test_sigkill_mid_write_leaves_no_output_and_the_next_run_removes_its_temporary(tmp_path):
    out, json_out = tmp_path / "r.xlsx", tmp_path / "r.json"
    process, temporary = _start_mid_write(tmp_path, out, json_out)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert not out.exists() and not json_out.exists()
    assert _temporaries(tmp_path, out) == [temporary]  # kill -9 cannot be caught

    result = cli("run", "--declarations", DECLARATIONS_XLSX, "--dfe-statements",
                 STATEMENTS_XLSX, "--out", out, "--json", json_out, "-q")
    assert result.exit_code in (0, 1), result.stderr
    assert out.exists() and json_out.exists()
    assert _temporaries(tmp_path, out) == []


def _caught(pid: int) -> int:
    """The signals a process catches (Linux: /proc/PID/status SigCgt), as a bit mask."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return int(line.split()[1], 16)
    return 0


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_during_start_up_is_one_line_not_a_traceback(tmp_path, signum, code):
    # From the moment reconcile's entry point takes the signals over (it catches SIGHUP,
    # which Python leaves alone), through the imports of the command line and the run:
    # the interpreter's own start-up before that is Python's, not the program's.
    out = tmp_path / "r.json"
    for delay in (0.0, 0.02, 0.05, 0.1, 0.2):
        process = subprocess.Popen(
            [sys.executable, "-m", "reconcile", "expected", "--declarations",
             str(DECLARATIONS_XLSX), "--contracts", str(CONTRACTS), "--json", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + 60
        while not _caught(process.pid) & (1 << (signal.SIGHUP - 1)):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.001)
        time.sleep(delay)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
        assert "Traceback" not in stderr, (delay, stderr)
        assert process.returncode == code, (delay, process.returncode, stderr)
        assert "interrupted; nothing was written" in stderr
        assert not out.exists()


# A Ctrl-C that lands inside a callback whose exceptions Python ignores (here an
# object's __del__; on CI it was a weak reference's clean-up during an import): Python
# would print "Exception ignored in ... Traceback" and the run would go on to write
# its outputs. It must still stop before anything is renamed into place.
SWALLOWING_WRAPPER = """
import signal, sys
import reconcile.pipeline as pipeline
real = pipeline.write_workbook
class Swallows:
    def __del__(self):
        signal.raise_signal(signal.SIGINT)  # the handler runs here, inside __del__
def write(book, path):
    Swallows()  # dropped at once
    real(book, path)
pipeline.write_workbook = write
sys.argv = ["reconcile", *sys.argv[1:]]
from reconcile.entry import main
main()
"""


@pytest.mark.slow
def test_an_interrupt_swallowed_where_it_landed_still_stops_the_run_before_writing(tmp_path):
    wrapper = tmp_path / "swallowing_reconcile.py"
    wrapper.write_text(SWALLOWING_WRAPPER, encoding="utf-8")
    out, json_out = tmp_path / "r.xlsx", tmp_path / "r.json"
    process = subprocess.run(
        [sys.executable, str(wrapper), "run", "--declarations", str(DECLARATIONS_XLSX),
         "--dfe-statements", str(STATEMENTS_XLSX), "--contracts", str(CONTRACTS),
         "--out", str(out), "--json", str(json_out), "-q", "--no-history"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.returncode == 130, process.stderr
    assert "Traceback" not in process.stderr and "Exception ignored" not in process.stderr
    assert process.stderr.strip().splitlines()[-1] == "reconcile: interrupted; nothing was written"
    assert not out.exists() and not json_out.exists()
    assert _temporaries(tmp_path, out) == [] and _temporaries(tmp_path, json_out) == []
