"""The ``reconcile`` program's entry point: interrupts handled from the first moment.

Ctrl-C or SIGTERM while Python is still importing the command line (a tenth of a
second) would otherwise print a traceback; here the stopping signals are turned into
:class:`~reconcile.interrupts.Interrupted` before anything heavy is imported, and
every interrupt, wherever it lands, ends with one line and the signal's exit status.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from reconcile import interrupts

        interrupts.install()
        from reconcile.cli import main as command_line
    except KeyboardInterrupt:  # before the signals were taken over
        sys.stderr.write("reconcile: interrupted; nothing was written\n")
        sys.exit(130)
    except BaseException as stop:
        if type(stop).__name__ == "Interrupted":
            interrupts.exit_interrupted(stop)
        raise
    try:
        try:
            command_line()
        finally:
            # an interrupt that landed where Python ignores exceptions (see interrupts)
            interrupts.check()
    except (KeyboardInterrupt, interrupts.Interrupted) as stop:
        interrupts.exit_interrupted(stop)
