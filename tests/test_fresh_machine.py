"""A fresh machine: the Makefile's helpers find a Python and install what the tests start.

``tools/system-setup.sh`` (``make system``, run by ``make test``) is run here on a
pretend machine: a PATH holding only a shell's basic programs, without LibreOffice,
and fake ``apt-get``, ``sudo`` and ``id`` that record what they were asked to do. The
real ``apt-get`` is never run. ``tools/find-python.sh`` is run on a PATH holding one
Python of each kind.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
SETUP = ROOT / "tools" / "system-setup.sh"
FIND_PYTHON = ROOT / "tools" / "find-python.sh"
BASICS = ("bash", "cat", "chmod", "date", "dirname", "mkdir")
PROGRAMS = ("soffice", "pdftoppm", "chromium")  # tools/system-packages.txt
PACKAGES = "libreoffice-calc-nogui poppler-utils chromium fonts-liberation"


def _script(path: Path, text: str) -> None:
    path.write_text("#!/bin/bash\n" + text)
    path.chmod(0o755)


def _machine(tmp_path: Path, *, uid: int = 0, sudo: str | None = None,
             apt: bool = True) -> tuple[Path, dict[str, str]]:
    """A bin folder with the basics, fake id/sudo/apt-get, and nothing else."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in BASICS:
        found = shutil.which(name)
        assert found, name
        (bin_dir / name).symlink_to(found)
    _script(bin_dir / "id", f'echo {uid}\n')
    log = tmp_path / "log"
    if apt:
        # "installing" makes the programs appear on PATH, as the real packages do
        programs = " ".join(PROGRAMS)
        _script(bin_dir / "apt-get", f'echo "apt-get $*" >> {log}\n'
                f'if [ "$1" = install ]; then for p in {programs}; do\n'
                f'  printf "#!/bin/bash\\n" > {bin_dir}/$p; chmod +x {bin_dir}/$p; done; fi\n')
    if sudo == "passwordless":
        _script(bin_dir / "sudo", f'echo "sudo $*" >> {log}\n[ "$1" = -n ] && shift\n"$@"\n')
    elif sudo == "password":
        _script(bin_dir / "sudo", 'echo "sudo: a password is required" >&2\nexit 1\n')
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    return log, env


def _setup(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([shutil.which("bash") or "bash", str(SETUP)], env=env,
                          capture_output=True, text=True, timeout=60)


def test_as_root_the_missing_programs_are_installed_with_apt_get(tmp_path):
    log, env = _machine(tmp_path, uid=0)
    done = _setup(env)
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == [
        "apt-get update -qq",
        f"apt-get install -y -qq --no-install-recommends {PACKAGES}"]
    assert "installed" in done.stderr
    # a second run finds everything and does nothing
    log.unlink()
    again = _setup(env)
    assert again.returncode == 0 and again.stderr == "" and not log.exists()


def test_with_passwordless_sudo_apt_get_runs_through_sudo(tmp_path):
    log, env = _machine(tmp_path, uid=1000, sudo="passwordless")
    done = _setup(env)
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == [
        "sudo -n true",
        "sudo -n apt-get update -qq", "apt-get update -qq",
        f"sudo -n apt-get install -y -qq --no-install-recommends {PACKAGES}",
        f"apt-get install -y -qq --no-install-recommends {PACKAGES}"]


def test_without_root_it_stops_and_prints_the_exact_command(tmp_path):
    log, env = _machine(tmp_path, uid=1000, sudo="password")
    done = _setup(env)
    assert done.returncode == 1
    assert ("    sudo apt-get update && sudo apt-get install -y -qq --no-install-recommends "
            f"{PACKAGES}\n") in done.stderr
    assert not log.exists()  # apt-get never ran


def test_without_root_or_sudo_the_command_is_run_through_su(tmp_path):
    """A bare Debian has no sudo (tools/fresh-machine-check.sh): root's password, by su."""
    log, env = _machine(tmp_path, uid=1000, sudo=None)
    done = _setup(env)
    assert done.returncode == 1
    assert ("    su -c 'apt-get update && apt-get install -y -qq --no-install-recommends "
            f"{PACKAGES}'\n") in done.stderr
    assert not log.exists()


def test_without_apt_get_it_names_the_programs_and_packages(tmp_path):
    _, env = _machine(tmp_path, uid=0, apt=False)
    done = _setup(env)
    assert done.returncode == 1
    assert "install soffice pdftoppm chromium" in done.stderr and PACKAGES in done.stderr


def test_the_package_list_is_extended_by_a_line(tmp_path):
    """Another program (e.g. a browser for the page's tests) is one more line."""
    log, env = _machine(tmp_path, uid=0)
    for program in PROGRAMS:  # already installed
        _script(tmp_path / "bin" / program, "")
    listing = tmp_path / "packages.txt"
    listing.write_text((ROOT / "tools" / "system-packages.txt").read_text()
                       + "mkdir   coreutils   # present: nothing to do\n"
                       + "browser  some-browser fonts-for-it  # missing\n")
    done = _setup({**env, "SYSTEM_PACKAGES": str(listing)})
    # the fake apt-get does not make "browser" appear, so the script says so
    assert done.returncode == 1
    assert log.read_text().splitlines()[1] == (
        "apt-get install -y -qq --no-install-recommends some-browser fonts-for-it")
    assert "browser is still missing" in done.stderr


def _python_named(bin_dir: Path, name: str, version: tuple[int, int]) -> None:
    """A stand-in interpreter that reports ``version`` to find-python's check."""
    real = sys.executable
    _script(bin_dir / name,
            f'if [ "$1" = -c ]; then exec {real} -c "import sys; sys.version_info = '
            f'({version[0]}, {version[1]}, 0); $2"; fi\nexec {real} "$@"\n')


def _find_python(tmp_path: Path, pythons: dict[str, tuple[int, int]]) -> str:
    bin_dir = tmp_path / "py"
    bin_dir.mkdir()
    for name in ("bash", "dirname"):
        (bin_dir / name).symlink_to(shutil.which(name) or name)
    for name, version in pythons.items():
        _python_named(bin_dir, name, version)
    done = subprocess.run([shutil.which("bash") or "bash", str(FIND_PYTHON)],
                          env={"PATH": str(bin_dir), "HOME": str(tmp_path),
                               "PYENV_ROOT": str(tmp_path / "no-pyenv")},
                          capture_output=True, text=True, timeout=60)
    return done.stdout.strip() if done.returncode == 0 else "none: " + done.stderr


def test_find_python_takes_the_machines_python3_when_supported(tmp_path):
    found = _find_python(tmp_path, {"python3": (3, 11), "python3.12": (3, 12)})
    assert found.endswith("/python3")


def test_find_python_prefers_a_python_that_runs_durable_rules(tmp_path):
    # python3 is 3.13 (the pure-Python engine); 3.10 also runs durable-rules
    found = _find_python(tmp_path, {"python3": (3, 13), "python3.10": (3, 10)})
    assert found.endswith("/python3.10")


def test_find_python_falls_back_to_313_and_skips_unsupported(tmp_path):
    found = _find_python(tmp_path, {"python3": (3, 9), "python3.13": (3, 13)})
    assert found.endswith("/python3.13")


def test_find_python_without_a_supported_python_says_how_to_name_one(tmp_path):
    found = _find_python(tmp_path, {"python3": (3, 8)})
    assert found.startswith("none: ") and "make PYTHON=" in found


def test_the_makefile_uses_the_helpers():
    makefile = (ROOT / "Makefile").read_text()
    assert "tools/find-python.sh" in makefile and "python3.11" not in makefile
    assert "test: system venv" in makefile  # stops before building the venv
