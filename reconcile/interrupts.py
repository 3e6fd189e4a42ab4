"""Interrupts: Ctrl-C, ``kill`` (SIGTERM) and a closed terminal (SIGHUP) stop a run cleanly.

Each becomes an :class:`Interrupted` exception in the main thread, so every
``finally`` runs: the temporary files of the outputs are removed and nothing is
written (:mod:`reconcile.outputs`). The command line then says so and exits
``128 + signal`` (130 for Ctrl-C, 143 for SIGTERM), as shells do. It derives from
``BaseException``, like ``KeyboardInterrupt``: no ``except Exception`` swallows it,
and click does not turn it into "Aborted!".

While the outputs are renamed into place (a few milliseconds) interrupts are held
back (:func:`held`): a run is written whole or not at all. One that arrives then is
delivered after, and the message says the outputs were written.

A signal can land while Python runs a callback whose exceptions it ignores (a weak
reference's clean-up, a ``__del__``): there the exception would be printed as
"Exception ignored in ..." with a traceback and lost, and the run would go on to
write its outputs. So the handler also records the signal as pending, the
"ignored" report of an :class:`Interrupted` is silenced (:func:`install` chains
``sys.unraisablehook``), and the pending interrupt is raised again at the next
checkpoint (:func:`check`): before the outputs are renamed into place
(:func:`held`) and when the command returns (the entry point).

``kill -9`` cannot be caught: its temporary files are removed by the next run
(:func:`reconcile.outputs.remove_stale_temporaries`).

Example::

    install()            # first thing in the entry point
    try:
        ...
    except Interrupted as stop:
        sys.exit(stop.exit_code)
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

#: the signals that stop a run cleanly (those the platform has)
SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                if hasattr(signal, name))


class Interrupted(BaseException):
    """The run was stopped by a signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class _State:
    #: the outputs were all renamed into place before the interrupt was delivered
    written = False
    #: the signal received, kept in case its exception was swallowed where it landed
    pending: int | None = None
    #: the unraisable hook in place before ours
    previous_hook: Callable[[Any], object] | None = None


def _stop(signum: int, frame: FrameType | None) -> None:
    _State.pending = signum
    raise Interrupted(signum)


def _unraisable(report: Any) -> None:
    """Python's "Exception ignored in ..." report, silent for an interrupt (kept pending)."""
    if isinstance(report.exc_value, Interrupted):
        return
    (_State.previous_hook or sys.__unraisablehook__)(report)


def check() -> None:
    """Raise the interrupt received but swallowed where it landed, if any."""
    if _State.pending is not None:
        raise Interrupted(_State.pending)


def install() -> None:
    """Turn the stopping signals into :class:`Interrupted` (main thread only)."""
    for signum in SIGNALS:
        try:
            signal.signal(signum, _stop)
        except (ValueError, OSError):  # not the main thread, or not allowed here
            pass
    if sys.unraisablehook is not _unraisable:
        _State.previous_hook = sys.unraisablehook
        sys.unraisablehook = _unraisable


def outputs_written() -> bool:
    return _State.written


def message(stop: BaseException) -> str:
    """What the command line says when stopped."""
    if _State.written:
        return "reconcile: interrupted after the outputs were written (they are complete)"
    return "reconcile: interrupted; nothing was written"


@contextmanager
def held() -> Iterator[None]:
    """Interrupts held back inside (the renaming of the outputs): delivered after it."""
    can_block = hasattr(signal, "pthread_sigmask") and SIGNALS
    _State.written = False
    if can_block:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        check()  # one that arrived earlier but was swallowed: nothing is renamed
        yield
        _State.written = True
    finally:
        if can_block:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def exit_interrupted(stop: BaseException) -> None:
    """Say so on standard error and exit with the signal's status."""
    code = stop.exit_code if isinstance(stop, Interrupted) else 128 + signal.SIGINT
    try:
        sys.stderr.write(message(stop) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    sys.exit(code)
