"""``reconcile serve``: a local web page for finance users, on top of the same pipeline.

Stage: entry point (beside the command line; nothing in the pipeline imports it).
In: files uploaded on the page (or by a script, ``POST /runs``), the bundled sample.
Out: pages (Start, Progress, Input errors, Summary, Statement, Findings, Declaration,
Delivery partners), and the downloads ``reconcile run`` and ``reconcile split`` write,
byte for byte.

Modules: :mod:`~reconcile.serve.app` (routes, the guard, templates),
:mod:`~reconcile.serve.security` (token, cookie, Host, CSRF, CSP),
:mod:`~reconcile.serve.uploads` (streamed, private uploads), :mod:`~reconcile.serve.runs`
(runs, their folders, the worker), :mod:`~reconcile.serve.reopen` (a run's pages made
again from its kept files), :mod:`~reconcile.serve.pipeline_adapter` (the one
call into :func:`reconcile.pipeline.run`), :mod:`~reconcile.serve.views` (what each page
shows), :mod:`~reconcile.serve.charts` (SVG). Templates are Jinja with the GOV.UK
Design System's macros (``govuk-frontend-jinja``); the CSS and JavaScript are GOV.UK
Frontend's, served from ``static/`` (built by ``tools/build-web-assets.sh``).

Example::

    $ reconcile serve --no-browser --port 0
    reconcile: serving on http://127.0.0.1:41233/?token=Jx...
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from reconcile.errors import Problem, UsageError
from reconcile.model import Source
from reconcile.outputs import check_output_paths
from reconcile.serve.security import Guard, is_loopback

DEFAULT_PORT = 8765
DEFAULT_MAX_UPLOAD_MB = 500


def default_data_dir() -> Path:
    """Where runs are kept without ``--data``: ``$XDG_DATA_HOME/reconcile/serve``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "reconcile" / "serve"


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one), or OSError."""
    host = host.strip().strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def machine_names() -> tuple[str, ...]:
    """This computer's own name(s), as other computers may write it in the address."""
    name = socket.gethostname().strip()
    return tuple(n for n in dict.fromkeys((name, name.split(".")[0])) if n)


def _reachable_note(guard: Any, names: tuple[str, ...]) -> str:
    """Standard error's word on a page other computers can reach (``--host``)."""
    at = [f"http://{n}:{guard.port}/?token={guard.token}" for n in names]
    if not guard.everywhere:
        at.insert(0, guard.start_url)
    where = " or ".join(at) if at else f"this computer's address, port {guard.port}"
    also = " (or any of this computer's IP addresses)" if guard.everywhere else ""
    return (f"reconcile: other computers can reach this page at {where}{also}, with the "
            "token. It is plain HTTP, not encrypted: use --host only on a network you "
            "trust, and keep the token private.")


def serve(*, host: str = "127.0.0.1", port: int = DEFAULT_PORT, open_browser: bool = True,
          data_dir: Path | None = None, max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB) -> int:
    """Start the server and serve until interrupted; the first line printed is the address."""
    # the web stack (uvicorn, Starlette, the app and its pipeline) is loaded when a server
    # starts, not whenever this package is (by any reconcile.serve module)
    import uvicorn

    from reconcile.serve.app import create_app
    from reconcile.serve.pipeline_adapter import run_store

    try:
        sock = bind(host, port)
    except OSError as error:
        if isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL:
            fix = ("give --host an address of this computer: 127.0.0.1 (this computer "
                   "only, the default), one of its network addresses, or 0.0.0.0 (all)")
        else:
            fix = "choose another --port (0 picks a free one)"
        raise UsageError([Problem(Source(f"--host {host} --port {port}"),
                                  f"cannot listen there ({error.strerror or error})",
                                  fix)]) from None
    port = sock.getsockname()[1]
    # reached from other computers: by this machine's name too (a Host header naming it)
    names = () if is_loopback(host) else machine_names()
    guard = Guard(host, port, names=names)
    data_dir = data_dir or default_data_dir()
    try:  # a data folder that cannot be written: exit 2 naming it, before serving
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        pass  # the check below says why, with the fix
    check_output_paths([], folders=[("--data", data_dir)])
    store = run_store(data_dir)
    app = create_app(store, guard, int(max_upload_mb * 1024 * 1024))
    print(f"reconcile: serving on {guard.start_url}", flush=True)
    print(f"reconcile: runs are kept in {store.data_dir}; press Ctrl+C to stop",
          file=sys.stderr, flush=True)
    if not guard.local or guard.everywhere:
        print(_reachable_note(guard, names), file=sys.stderr, flush=True)
    if open_browser:
        import webbrowser

        threading.Thread(target=webbrowser.open, args=(guard.start_url,), daemon=True).start()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            server_header=False, date_header=False)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        store.stop()
        sock.close()
    return 0
