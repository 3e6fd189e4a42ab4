"""The command line's outer surface: help with examples, exit status 2 for bad usage."""

import subprocess
import sys

import pytest
from click.testing import CliRunner

from reconcile.cli import main

COMMANDS = ["run", "expected", "split", "explain", "template", "demo"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output


def test_rules_subcommands_have_help():
    for sub in ("check", "show"):
        result = CliRunner().invoke(main, ["rules", sub, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output


def test_top_level_help_lists_the_verbs():
    result = CliRunner().invoke(main, ["--help"])
    for command in COMMANDS + ["rules"]:
        assert command in result.output


def test_missing_declarations_file_is_exit_2_without_traceback(tmp_path):
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [sys.executable, "-m", "reconcile", "expected", "--declarations",
         str(tmp_path / "nope.csv"), "--json", str(out)],
        capture_output=True, text=True)
    assert proc.returncode == 2
    assert "nope.csv" in proc.stderr and "not found" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_unknown_option_is_usage_exit_2():
    result = CliRunner().invoke(main, ["expected", "--bogus"])
    assert result.exit_code == 2
