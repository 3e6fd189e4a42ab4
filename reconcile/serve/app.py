"""The web application: routes, the guard in front of them, and the pages' templates.

Stage: entry point (``reconcile serve``). In: HTTP requests. Out: pages, downloads
and JSON, all drawn from the runs of :mod:`reconcile.serve.runs` (one orchestrator:
nothing here calculates).

HTTP interface (the README's "The page's HTTP interface" documents it for scripts):

=====================================  ===============================================
``GET /``                              the Start page: upload files, or try the sample
``POST /runs``                         multipart: ``declarations`` (one or more),
                                       ``dfe_statements``, ``contracts``, ``as_of``
                                       (YYYY-MM-DD) → ``303`` to ``/runs/{id}``;
                                       ``422`` when the upload itself is wrong
``POST /runs/sample``                  the bundled sample → ``303``
``GET /runs``                          every run (JSON with ``Accept: application/json``)
``GET /runs/{id}``                     progress, then the Summary; JSON: ``202
                                       {"status": "running", "stage": ...}``, then the
                                       bare JSON result (``422`` input errors, ``500``
                                       a crash)
``GET /runs/{id}/result.json``         the JSON result, as ``reconcile run --json``
``GET /runs/{id}/reconciliation.xlsx`` the workbook, as ``reconcile run --out``
``GET /runs/{id}/statements/{n}``      one statement, as DfE's payment breakdown
``GET /runs/{id}/findings``            findings: filter, sort, page
``GET /runs/{id}/declarations``        the declarations behind a figure
``GET /runs/{id}/declarations/{decl}`` why it is (not) paid: ``reconcile explain``
``GET /runs/{id}/partners``            the delivery-partner split, remittances
``GET /runs/{id}/remittances/{file}``  one remittance, as ``reconcile split
                                       --per-partner``
``GET /runs/{id}/delete``              asks to confirm the deletion of a run
``POST /runs/{id}/delete``             delete the run and its files (also ``DELETE
                                       /runs/{id}``)
``POST /runs/{id}/notes``              a note on a finding, in the history
``GET /history``, ``/history/{n}``     the recorded runs; one run's changes
``GET /contracts``                     the contracts kept from the last upload
``GET /assets/...``                    CSS, JavaScript (no token needed)
=====================================  ===============================================

The guard (:mod:`reconcile.serve.security`) answers ``400`` to a foreign ``Host``,
``401`` without the token, ``403`` to a form without its CSRF token and ``413`` past
the upload limit, before any route runs.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections.abc import Awaitable, Callable, MutableMapping
from functools import partial
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from reconcile import __version__, history
from reconcile.errors import ReconcileError
from reconcile.history.api import run_row_json
from reconcile.history.follow import NOTE_STATUSES
from reconcile.money import MoneyError, pounds, to_decimal
from reconcile.outputs import Outputs
from reconcile.remittance import remittance_file_names, remittance_workbooks
from reconcile.serve.runs import (
    DONE,
    FAILED,
    INPUT_ERROR,
    REMITTANCES,
    RESULT,
    ROLES,
    STAGE_TEXT,
    WORKBOOK,
    Run,
    RunStore,
    check_files,
)
from reconcile.serve.sample import sample_files
from reconcile.serve.security import CSRF_FIELD, CSRF_HEADER, SECURITY_HEADERS, Guard
from reconcile.serve.uploads import Upload, UploadError, receive_upload
from reconcile.serve.views import RunView, difference, figure
from reconcile.split import SplitResult
from reconcile.write import write_workbook

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{8}$")


# ====================================================================== the guard


class GuardMiddleware:
    """Host check, token (cookie or bearer), upload limit and security headers.

    A pure ASGI middleware, so that it can stop a request body before it is read.
    """

    def __init__(self, app: ASGIApp, guard: Guard, max_upload_bytes: int,
                 render: Callable[..., str]) -> None:
        self.app = app
        self.guard = guard
        self.max_upload_bytes = max_upload_bytes
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS:
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                if not scope["path"].startswith("/assets/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        request = Request(scope)
        if not self.guard.host_allowed(headers.get("host")):
            await self._drain(receive)
            response: Response = PlainTextResponse(
                f"reconcile serve answers only at {self.guard.base_url}/ (or "
                f"http://localhost:{self.guard.port}/): this request named the host "
                f"{headers.get('host')!r}.\n", status_code=400)
            await response(scope, receive, send_with_headers)
            return
        path = scope["path"]
        if not path.startswith("/assets/"):
            by_bearer = self.guard.bearer(headers)
            cookies = SimpleCookie()
            try:
                cookies.load(headers.get("cookie", ""))
            except Exception:  # a malformed cookie header is no cookie
                cookies = SimpleCookie()
            by_cookie = self.guard.cookie({k: m.value for k, m in cookies.items()})
            if not (by_bearer or by_cookie):
                token = request.query_params.get("token")
                if self.guard.token_matches(token) and scope["method"] in ("GET", "HEAD"):
                    # the first visit: the token becomes the session cookie, and leaves
                    # the address (not kept in history or shown over a shoulder)
                    query = [(k, v) for k, v in request.query_params.multi_items()
                             if k != "token"]
                    target = path + (f"?{urlencode(query)}" if query else "")
                    response = RedirectResponse(target, status_code=303)
                    response.headers["set-cookie"] = self.guard.cookie_header()
                    await response(scope, receive, send_with_headers)
                    return
                await self._drain(receive)
                response = _refuse(request, 401, self.render, "Open the page from its address",
                                   "This page needs the address that reconcile serve printed "
                                   "when it started (it ends with ?token=...). Scripts send "
                                   "the token in an Authorization: Bearer header.")
                await response(scope, receive, send_with_headers)
                return
            scope.setdefault("state", {})["auth"] = "bearer" if by_bearer else "cookie"
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_upload_bytes:
            await self._drain(receive)
            await self._too_large(request, scope, receive, send_with_headers)
            return
        seen = 0
        too_large = False
        done = {"type": "http.request", "body": b"", "more_body": False}

        async def counted_receive() -> Message:
            # past the limit: the rest is read and dropped, the app sees the body end,
            # and whatever it answers is replaced by the 413 below
            nonlocal seen, too_large
            if too_large:
                return done
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_upload_bytes:
                    too_large = True
                    scope.setdefault("state", {})["too_large"] = True
                    if message.get("more_body"):
                        await self._drain(receive)
                    return done
            return message

        async def guarded_send(message: Message) -> None:
            if not too_large:
                await send_with_headers(message)

        await self.app(scope, counted_receive, guarded_send)
        if too_large and not started:
            await self._too_large(request, scope, receive, send_with_headers)

    async def _too_large(self, request: Request, scope: Scope, receive: Receive,
                         send: Send) -> None:
        mb = self.max_upload_bytes / (1024 * 1024)
        limit = f"{mb:,.0f} MB" if mb >= 1 else f"{self.max_upload_bytes:,} bytes"
        response = _refuse(
            request, 413, self.render, "The files are too large",
            f"One upload can be at most {limit} in all. Upload fewer or smaller files, or "
            f"start reconcile serve again with a larger --max-upload-mb.")
        await response(scope, receive, send)

    @staticmethod
    async def _drain(receive: Receive) -> None:
        """Read and drop what the client is still sending, so that it reads the answer."""
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                return


def wants_json(request: Request) -> bool:
    """A script asking for JSON (``Accept: application/json`` before any HTML)."""
    accept = request.headers.get("accept", "")
    if "application/json" not in accept:
        return False
    html = accept.find("text/html")
    return html < 0 or accept.find("application/json") < html


def _refuse(request: Request, status: int, render: Callable[..., str], title: str,
            message: str) -> Response:
    if wants_json(request) or "text/html" not in request.headers.get("accept", "text/html"):
        return JSONResponse({"error": title, "message": message}, status_code=status)
    return HTMLResponse(render("error.html", request=None, title=title, message=message,
                               status=status), status_code=status)


# ====================================================================== templates


def _environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([
            PackageLoader("reconcile.serve", "templates"),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]),
        autoescape=select_autoescape(("html",), default_for_string=True),
        trim_blocks=True, lstrip_blocks=True,
    )

    def gbdate(value: dt.date | dt.datetime | str | None) -> str:
        """``25 May 2024``, as GOV.UK writes dates."""
        if value is None or value == "":
            return "-"
        if isinstance(value, str):
            value = (dt.date.fromisoformat(value) if len(value) == 10
                     else dt.datetime.fromisoformat(value))
        if isinstance(value, dt.datetime):
            return f"{value.day} {value:%B %Y, %H:%M} UTC"
        return f"{value.day} {value:%B %Y}"

    def signed(value: Any) -> str:
        return "" if value is None else pounds(value)

    def number(value: Any) -> str:
        return "" if value is None else f"{value:,}"

    def query(base: dict[str, str], **changes: Any) -> str:
        merged = {k: v for k, v in {**base, **{k: str(v) for k, v in changes.items()
                                               if v is not None}}.items() if v}
        return "?" + urlencode(merged) if merged else "?"

    def files(run: Run) -> str:
        """A run's inputs in a line: names, with the contracts counted when many."""
        inputs = run.inputs
        contracts = [i.name for i in inputs if i.role == "contracts"]
        names = [i.name for i in inputs if i.role != "contracts"]
        if len(contracts) > 2:
            names.append(f"{len(contracts)} contracts")
        else:
            names.extend(contracts)
        return ", ".join(names)

    def breakable(code: str) -> Markup:
        """``OUTPUT_COUNT_MISMATCH`` that may wrap after each underscore, not mid-word."""
        return Markup("_<wbr>").join(escape(part) for part in str(code).split("_"))

    env.filters.update(pounds=signed, gbdate=gbdate, number=number, files=files,
                       figure=figure, difference=difference, breakable=breakable)
    env.globals.update(version=__version__, query=query, urlencode=urlencode,
                       ROLES=ROLES)
    return env


# ====================================================================== the app


def create_app(store: RunStore, guard: Guard, max_upload_bytes: int) -> GuardMiddleware:
    """The ASGI application of ``reconcile serve`` (tests drive it with a test client)."""
    env = _environment()

    def render(name: str, request: Request | None = None, **context: Any) -> str:
        page: str = env.get_template(name).render(csrf_token=guard.csrf_token, **context)
        return page

    def page(name: str, code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(render(name, **context), status_code=code)

    def not_found(what: str) -> HTMLResponse:
        return page("error.html", 404, title="Page not found", status=404,
                    message=f"There is no {what} here. It may have been deleted.")

    def run_or_404(request: Request) -> Run:
        run_id = request.path_params["run_id"]
        run = store.get(run_id) if _RUN_ID.match(run_id) else None
        if run is None:
            raise HTTPException(404, "run")
        return run

    def require_csrf(request: Request, value: str | None) -> None:
        """A form POST with the cookie must carry the form's token (scripts use Bearer)."""
        if request.scope.get("state", {}).get("auth") == "bearer":
            return
        origin = request.headers.get("origin")
        if origin and not (origin.lower().startswith("http://")
                           and guard.host_allowed(origin[len("http://"):])):
            raise HTTPException(403, "origin")
        if not guard.check_csrf(value or request.headers.get(CSRF_HEADER)):
            raise HTTPException(403, "csrf")

    async def urlencoded_form(request: Request) -> dict[str, str]:
        body = (await request.body()).decode("utf-8", "replace")
        return {k: v[0] for k, v in parse_qs(body).items()}

    # ------------------------------------------------------------------ start
    def start_page(request: Request, status: int = 200, errors: list[str] | None = None,
                   values: dict[str, str] | None = None) -> HTMLResponse:
        return page("start.html", status, runs=store.all()[:20],
                    contracts=store.saved_contracts(), errors=errors or [],
                    values=values or {})

    async def home(request: Request) -> Response:
        return start_page(request)

    async def create_run(request: Request) -> Response:
        folder = store.upload_folder()
        try:
            try:
                upload = await receive_upload(request.stream(),
                                              request.headers.get("content-type", ""), folder)
            except UploadError as error:  # nothing is kept: no CSRF check needed to refuse
                return _upload_refused(request, [f"The upload could not be used: {error}"],
                                       {})
            if request.scope.get("state", {}).get("too_large"):
                return Response(status_code=413)  # cut short: the guard answers
            require_csrf(request, upload.field(CSRF_FIELD) or None)
            values = {k: upload.field(k) for k in ("as_of", "as_of-day", "as_of-month",
                                                   "as_of-year")}
            problems = []
            as_of, as_of_problem = _as_of(values)
            if as_of_problem:
                problems.append(as_of_problem)
            options, option_problems = _run_options(upload)
            values.update(options)
            problems.extend(option_problems)
            files = [f for group in upload.files.values() for f in group]
            problems.extend(check_files(files))
            if problems:
                return _upload_refused(request, problems, values)
            run = store.create(files, as_of=as_of, options=options)
            return RedirectResponse(f"/runs/{run.id}", status_code=303)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _upload_refused(request: Request, problems: list[str], values: dict[str, str]
                        ) -> Response:
        if wants_json(request):
            return JSONResponse({"status": "upload refused", "problems": problems},
                                status_code=422)
        return start_page(request, 422, problems, values)

    async def create_sample_run(request: Request) -> Response:
        form = await urlencoded_form(request)
        require_csrf(request, form.get(CSRF_FIELD))
        folder = store.upload_folder()
        try:
            try:
                files, as_of = sample_files(folder)
            except (ReconcileError, OSError) as error:
                return _upload_refused(request, [f"The bundled sample cannot be used: {error}"],
                                       {})
            run = store.create(files, as_of=as_of, sample=True, keep_contracts=False)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return RedirectResponse(f"/runs/{run.id}", status_code=303)

    async def list_runs(request: Request) -> Response:
        if wants_json(request):
            return JSONResponse({"runs": [_run_json(r) for r in store.all()]})
        return RedirectResponse("/", status_code=303)

    def contracts(request: Request) -> Response:
        kept = store.saved_contracts()
        if wants_json(request):
            return JSONResponse({"contracts": [c.as_json() for c in kept]})
        return page("contracts.html", contracts=kept)

    # ------------------------------------------------------------------ one run
    def show_run(request: Request) -> Response:
        run = run_or_404(request)
        if wants_json(request):
            if run.status == DONE:
                return FileResponse(run.folder / RESULT, media_type="application/json")
            if run.status == INPUT_ERROR:
                return JSONResponse({"status": run.status,
                                     "kind": run.record.get("error_kind"),
                                     "problems": run.record.get("problems", [])},
                                    status_code=422)
            if run.finished:
                return JSONResponse({"status": run.status, "message": _crash_message(run)},
                                    status_code=500)
            return JSONResponse(run.progress_json(), status_code=202)
        if run.status == INPUT_ERROR:
            return page("input_errors.html", 422, run=run, problems=run.record["problems"],
                        kind=run.record.get("error_kind"))
        if run.status == DONE:
            view = _view(run)
            if view is None:
                return reopening(run)
            return page("summary.html", run=run, s=view.summary(request.query_params),
                        nav="summary")
        if run.finished:
            return page("failed.html", 500, run=run, message=_crash_message(run))
        return page("progress.html", run=run, stage_text=STAGE_TEXT)

    def reopening(run: Run) -> Response:
        """A finished run whose result the server no longer holds: its pages are made
        again from its kept files (reconcile.serve.reopen), the progress page meanwhile;
        the page asked for shows when they are ready."""
        if store.reopen(run) or run.rebuilding:
            return page("reopening.html", 202, run=run, state=run.rebuild_json(),
                        stage_text=STAGE_TEXT)
        return page("gone.html", run=run, error=run.rebuild_error)

    def progress(request: Request) -> Response:
        """The run's state, small, for the progress bar (always JSON)."""
        run = run_or_404(request)
        if run.rebuilding:
            return JSONResponse(run.rebuild_json())
        return JSONResponse(run.progress_json() if not run.finished
                            else {"status": run.status, "stage": None, "fraction": 1.0})

    def choose_statement(request: Request) -> Response:
        """The statement selector's form: to the chosen statement's page."""
        run = run_or_404(request)
        return RedirectResponse(f"/runs/{run.id}/statements/"
                                f"{max(0, _int(request.query_params.get('n'), 0))}",
                                status_code=303)

    def _view(run: Run) -> RunView | None:
        result = run.result
        if result is None:
            return None
        view = run.view
        if view is None or view.result is not result:
            view = RunView(result)
            run.view = view
        return view

    def done_view(request: Request) -> tuple[Run, RunView]:
        run = run_or_404(request)
        if run.status != DONE:
            raise HTTPException(409, "not done")
        view = _view(run)
        if view is None:
            raise Reopening(run)
        return run, view

    async def reopening_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Reopening)
        return reopening(exc.run)

    def statement(request: Request) -> Response:
        run, view = done_view(request)
        index = request.path_params["index"]
        if index >= len(view.pairs):
            raise HTTPException(404, "statement")
        return page("statement.html", run=run, st=view.statement(index), view=view,
                    nav="summary")

    def findings(request: Request) -> Response:
        run, view = done_view(request)
        page_no = _int(request.query_params.get("page"), 1)
        data = view.findings(request.query_params, request.query_params.get("sort", ""),
                             page_no, notes=current_notes)
        return page("findings.html", run=run, f=data, nav="findings",
                    note_statuses=NOTE_STATUSES,
                    back=str(request.url.path) + (f"?{request.url.query}"
                                                  if request.url.query else ""))

    def current_notes(fingerprints: list[str]) -> dict[str, Any]:
        """The latest note of each finding, as the history holds it now."""
        if not store.history_path.exists():
            return {}
        with history.open_store(store.history_path, create=False) as opened:
            return opened.latest_notes(fingerprints)

    async def add_note(request: Request) -> Response:
        """The Findings page's note form: ``reconcile history note``, on the page."""
        run = run_or_404(request)
        form = await urlencoded_form(request)
        require_csrf(request, form.get(CSRF_FIELD))
        back = form.get("back") or f"/runs/{run.id}/findings"
        if not back.startswith(f"/runs/{run.id}/findings"):
            back = f"/runs/{run.id}/findings"
        if not store.history_path.exists():
            raise HTTPException(404, "history")
        try:
            with history.open_store(store.history_path, create=False) as opened:
                history.add_note(opened, form.get("fingerprint", ""), form.get("status", ""),
                                 form.get("text", ""), form.get("by", "").strip()
                                 or "reconcile serve")
        except ReconcileError as error:
            if wants_json(request):
                return JSONResponse({"error": "the note was not added",
                                     "message": error.render()}, status_code=422)
            return page("error.html", 422, title="The note was not added", status=422,
                        message=error.render(), back=back)
        if wants_json(request):
            return JSONResponse({"status": "added"}, status_code=201)
        return RedirectResponse(back, status_code=303)

    def history_runs(request: Request) -> Response:
        """Every run in the page's history, newest first, with its changes."""
        rows: list[Any] = []
        if store.history_path.exists():
            with history.open_store(store.history_path, create=False) as opened:
                rows = history.list_runs(opened)
        pages = {r.record.get("history_run_id"): r for r in store.all()
                 if r.record.get("history_run_id") is not None}
        if wants_json(request):
            return JSONResponse({"runs": [run_row_json(r) for r in rows]})
        return page("history.html", runs=rows, pages=pages, nav="history")

    def history_run(request: Request) -> Response:
        """One recorded run: what changed since the run before it."""
        number = request.path_params["number"]
        if not store.history_path.exists():
            raise HTTPException(404, "history")
        try:
            with history.open_store(store.history_path, create=False) as opened:
                row = opened.run(number)
                if row is None:
                    raise HTTPException(404, "history run")
                changes = history.run_changes(opened, number)
        except history.HistoryError as error:
            return page("error.html", 404, title="No such run in the history", status=404,
                        message=error.render())
        if wants_json(request):
            return JSONResponse({**run_row_json(row), "changes_list": changes})
        pages = {r.record.get("history_run_id"): r for r in store.all()}
        return page("history_run.html", row=row, changes=changes, page_run=pages.get(number),
                    nav="history")

    def declarations(request: Request) -> Response:
        run, view = done_view(request)
        query = request.query_params
        wanted = (query.get("q") or "").strip()
        if wanted and not any(query.get(k) for k in ("statement", "kind", "type", "band")):
            ids = {d.declaration_id for d in view.result.declarations}
            if wanted in ids:
                return RedirectResponse(f"/runs/{run.id}/declarations/{_quote(wanted)}",
                                        status_code=303)
        data = view.attributions(query, _int(query.get("page"), 1))
        return page("declarations.html", run=run, d=data, view=view, nav="declarations")

    def declaration(request: Request) -> Response:
        run, view = done_view(request)
        declaration_id = request.path_params["declaration_id"]
        try:
            explanation = view.explanation(declaration_id)
        except ReconcileError as error:
            return page("error.html", 404, title="No such declaration", status=404,
                        message=error.render(), run=run)
        return page("declaration.html", run=run, x=explanation, view=view, nav="declarations")

    def partners(request: Request) -> Response:
        run, view = done_view(request)
        raw = request.query_params.get("statement")
        index = _int(raw, -1) if raw else None
        return page("partners.html", run=run, p=view.partners(index), nav="partners")

    def download(name: str, media: str) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            run = run_or_404(request)
            path = run.folder / name
            if run.status != DONE or not path.is_file():
                raise HTTPException(404, name)
            return FileResponse(path, media_type=media, filename=name)
        return handler

    def remittance(request: Request) -> Response:
        run, view = done_view(request)
        name = request.path_params["name"]
        split = view.result.split
        if split is None:
            raise HTTPException(404, "remittance")
        if name not in set(remittance_file_names(split).values()):
            raise HTTPException(404, "remittance")
        folder = run.folder / REMITTANCES
        if not (folder / name).is_file():
            _write_remittances(run, split)
        return FileResponse(folder / name, filename=name, media_type=XLSX)

    async def confirm_delete(request: Request) -> Response:
        """The question before a run's files go: deleting cannot be undone."""
        run = run_or_404(request)
        if not run.finished:
            return _refuse(request, 409, render, "The run is still going",
                           "Wait for it to finish, then delete it.")
        return page("delete.html", run=run)

    async def delete_run(request: Request) -> Response:
        run = run_or_404(request)
        if request.method == "POST":
            form = await urlencoded_form(request)
            require_csrf(request, form.get(CSRF_FIELD))
        if not run.finished:
            return _refuse(request, 409, render, "The run is still going",
                           "Wait for it to finish, then delete it.")
        store.delete(run.id)
        if request.method == "DELETE" or wants_json(request):
            return Response(status_code=204)
        return RedirectResponse("/", status_code=303)

    # ------------------------------------------------------------------ errors
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        titles = {403: ("The form has expired",
                        "The form was not sent from this page, or the server has been started "
                        "again since the page was opened. Go back, reload the page and try "
                        "again."),
                  404: ("Page not found", "There is nothing here. The run may have been "
                        "deleted, or the address mistyped."),
                  405: ("Not allowed", "This address does not take that kind of request."),
                  409: ("The run has not finished", "Wait for it to finish."),
                  410: ("The run's details are no longer in memory",
                        "Its workbook and JSON can still be downloaded; run it again to see "
                        "its pages.")}
        title, message = titles.get(exc.status_code, ("Error", str(exc.detail)))
        return _refuse(request, exc.status_code, render, title, message)

    async def server_error(request: Request, exc: Exception) -> Response:
        return _refuse(request, 500, render, "Sorry, something went wrong",
                       "This is a bug in reconcile, not a problem with your files. "
                       "The server is still running: go back and try again. The details "
                       "are in the terminal where reconcile serve runs.")

    routes = [
        Route("/", home, methods=["GET"]),
        Route("/runs", create_run, methods=["POST"]),
        Route("/runs", list_runs, methods=["GET"]),
        Route("/runs/sample", create_sample_run, methods=["POST"]),
        Route("/contracts", contracts, methods=["GET"]),
        Route("/runs/{run_id}", show_run, methods=["GET"]),
        Route("/runs/{run_id}", delete_run, methods=["DELETE"]),
        Route("/runs/{run_id}/delete", confirm_delete, methods=["GET"]),
        Route("/runs/{run_id}/delete", delete_run, methods=["POST"]),
        Route(f"/runs/{{run_id}}/{WORKBOOK}", download(WORKBOOK, XLSX), methods=["GET"]),
        Route(f"/runs/{{run_id}}/{RESULT}", download(RESULT, "application/json"),
              methods=["GET"]),
        Route("/runs/{run_id}/progress", progress, methods=["GET"]),
        Route("/runs/{run_id}/statements", choose_statement, methods=["GET"]),
        Route("/runs/{run_id}/statements/{index:int}", statement, methods=["GET"]),
        Route("/runs/{run_id}/findings", findings, methods=["GET"]),
        Route("/runs/{run_id}/notes", add_note, methods=["POST"]),
        Route("/history", history_runs, methods=["GET"]),
        Route("/history/{number:int}", history_run, methods=["GET"]),
        Route("/runs/{run_id}/declarations", declarations, methods=["GET"]),
        Route("/runs/{run_id}/declarations/{declaration_id:path}", declaration,
              methods=["GET"]),
        Route("/runs/{run_id}/partners", partners, methods=["GET"]),
        Route("/runs/{run_id}/remittances/{name}", remittance, methods=["GET"]),
        Mount("/assets", StaticFiles(directory=STATIC), name="assets"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error,
                                                       Reopening: reopening_error,
                                                       Exception: server_error})
    return GuardMiddleware(app, guard, max_upload_bytes, render)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Reopening(Exception):
    """A page of a finished run whose result is no longer held (shown when remade)."""

    def __init__(self, run: Run) -> None:
        super().__init__(run.id)
        self.run = run


def _write_remittances(run: Run, split: SplitResult) -> None:
    """``reconcile split --per-partner DIR``'s files for this run (made when first asked):
    the same workbook values, written the same way (atomically, all together)."""
    with run.lock:
        outputs = Outputs()
        folder = run.folder / REMITTANCES
        outputs.folder(folder)
        for name, build in remittance_workbooks(split).items():
            outputs.file(folder / name, partial(_write_built, write_workbook, build))
        outputs.commit()


def _quote(text: str) -> str:
    return quote(text, safe="")


def _int(text: str | None, default: int) -> int:
    try:
        return int(text or "")
    except ValueError:
        return default


def _as_of(values: dict[str, str]) -> tuple[dt.date | None, str | None]:
    """The as-of date of an upload: ``as_of`` (YYYY-MM-DD) or the day, month, year fields."""
    text = values.get("as_of", "")
    parts = [values.get(f"as_of-{p}", "").strip() for p in ("year", "month", "day")]
    if not text and any(parts):
        if not all(p.isdigit() for p in parts):
            return None, ("The date to judge by must be a real date, for example 10 10 2026 "
                          "(day, month, year), or leave all three boxes empty for today")
        text = f"{int(parts[0]):04d}-{int(parts[1]):02d}-{int(parts[2]):02d}"
    if not text:
        return None, None
    try:
        return dt.date.fromisoformat(text), None
    except ValueError:
        return None, (f"The date to judge by, {text!r}, is not a real date: write it as "
                      "YYYY-MM-DD, for example 2026-10-10")


def _run_options(upload: Upload) -> tuple[dict[str, str], list[str]]:
    """The upload's text options: ``lead_provider``, ``sheet``, ``tolerance`` (pounds)."""
    options = {k: upload.field(k) for k in ("lead_provider", "sheet", "tolerance")
               if upload.field(k)}
    problems = []
    if "tolerance" in options:
        try:
            amount = to_decimal(options["tolerance"])
        except MoneyError:
            amount = None
        if amount is None or amount < 0:
            problems.append(f"The tolerance, {options['tolerance']!r}, must be an amount of "
                            "money of 0 or more, for example 0.05")
    return options, problems


def _crash_message(run: Run) -> str:
    if run.status == FAILED:
        return ("This is a bug in reconcile, not a problem with your files: the run stopped "
                f"({run.record.get('message')}). Nothing was written. The server is still "
                "running; the details are in this run's folder (run.json) for a bug report.")
    return str(run.record.get("message") or "The run did not finish.")


def _write_built(write: Callable[[Any, Path], None], build: Callable[[], Any],
                 path: Path) -> None:
    """A workbook made by ``build()`` when committed, written by ``write``."""
    write(build(), path)


def _run_json(run: Run) -> dict[str, Any]:
    record = {k: v for k, v in run.record.items() if k != "traceback"}
    record["url"] = f"/runs/{run.id}"
    plain: dict[str, Any] = json.loads(json.dumps(record))
    return plain
