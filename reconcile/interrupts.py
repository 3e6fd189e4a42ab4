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
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

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


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def install() -> None:
    """Turn the stopping signals into :class:`Interrupted` (main thread only)."""
    for signum in SIGNALS:
        try:
            signal.signal(signum, _stop)
        except (ValueError, OSError):  # not the main thread, or not allowed here
            pass


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
