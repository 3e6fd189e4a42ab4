"""The page's HTTP interface without a browser: what a script sees (README "The page's
HTTP interface"), and the guard in front of it.

The sample upload is compared with what ``reconcile run`` writes for the same files,
run from the folder holding them (``cli_reference``): the JSON and the workbook must be
the same bytes, since the page calls the same pipeline with the same options.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.serve.conftest import (
    BEARER,
    PORT,
    SAMPLE_AS_OF,
    TOKEN,
    make_client,
    sample_files,
    upload,
    wait,
)

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------ the sample, end to end


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """One sample upload through POST /runs, shared by the tests that read its pages."""
    from reconcile.serve.pipeline_adapter import run_store

    store = run_store(tmp_path_factory.mktemp("serve") / "data")
    client, guard = make_client(store)
    answer = upload(client, sample_files(), as_of=SAMPLE_AS_OF)
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert re.fullmatch(r"/runs/\d{8}-\d{6}-[0-9a-f]{8}", location)
    wait(client, location)
    yield client, location, store
    store.stop()


def test_post_runs_gives_the_json_result_of_the_command_line(sample_run, cli_reference):
    client, location, _ = sample_run
    answer = client.get(location, headers={**BEARER, "Accept": "application/json"})
    assert answer.status_code == 200
    expected = (cli_reference / "result.json").read_bytes()
    assert answer.content == expected
    # and as its own download
    assert client.get(f"{location}/result.json", headers=BEARER).content == expected
    data = json.loads(answer.content)
    # the inputs are recorded by their uploaded names, as the command line records them
    assert {f["code"] for f in data["findings"]} >= {
        "OUTPUT_COUNT_MISMATCH", "OUTPUT_FEE_MISMATCH", "HIDDEN_RECONCILE_AMOUNT",
        "STATEMENT_MISSING_FROM_DFE", "UNEXPLAINED_ADJUSTMENT"}


def test_the_workbook_is_the_command_lines_byte_for_byte(sample_run, cli_reference):
    client, location, _ = sample_run
    answer = client.get(f"{location}/reconciliation.xlsx", headers=BEARER)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert 'filename="reconciliation.xlsx"' in answer.headers["content-disposition"]
    assert answer.content == (cli_reference / "reconciliation.xlsx").read_bytes()


def test_each_remittance_is_reconcile_splits_byte_for_byte(sample_run, cli_reference):
    client, location, _ = sample_run
    page = client.get(f"{location}/partners", headers=BEARER).text
    names = re.findall(r'/remittances/([^"]+\.xlsx)"', page)
    written = sorted(p.name for p in (cli_reference / "remittances").iterdir())
    assert sorted(names) == written and written
    for name in names:
        answer = client.get(f"{location}/remittances/{name}", headers=BEARER)
        assert answer.status_code == 200
        assert answer.content == (cli_reference / "remittances" / name).read_bytes()


def test_the_partners_page_opens_on_the_latest_statement_paid(sample_run):
    """With no statement chosen, the split of the latest statement paid by the as-of date:
    the sample's statements are paid on the 25th, so by 10 October 2026 the latest are
    September 2026's (Harbour Lane 2024 and 2025, Northbrook 2025: the last by provider
    and cohort); partners' amounts plus what the lead provider keeps make its net."""
    client, location, _ = sample_run
    page = client.get(f"{location}/partners", headers=BEARER).text
    caption = re.search(r'id="split-caption">([^<]+)<', page).group(1)
    assert caption.startswith("September 2026, Northbrook Teaching Institute, cohort 2025: net")
    assert "the latest statement paid by 10 October 2026" in page
    table = page.split('id="split"')[1].split("</table>")[0]

    def pounds(text: str) -> Decimal:
        return Decimal(text.replace("£", "").replace(",", ""))

    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    amounts = [pounds(re.findall(r">(-?£[\d,.]+)</td>", r)[-1]) for r in rows[1:]
               if "Lead provider keeps" not in r and "= net" not in r]
    kept = next(r for r in rows if "Lead provider keeps" in r)
    retained = pounds(re.findall(r">(-?£[\d,.]+)</td>", kept)[-1])
    net = pounds(caption.rsplit("net ", 1)[1])
    assert amounts and sum(amounts) + retained == net
    chosen = client.get(f"{location}/partners?statement=0", headers=BEARER).text
    assert "latest-note" not in chosen
    assert re.search(r'id="split-caption">November 2022, Harbour Lane', chosen)


def test_the_summary_totals_agree_with_the_workbook(sample_run, cli_reference):
    openpyxl = pytest.importorskip("openpyxl")
    client, location, _ = sample_run
    page = client.get(location, headers=BEARER).text
    shown = dict(re.findall(r'data-total="([\w-]+)">([^<]*)<', page))
    book = openpyxl.load_workbook(cli_reference / "reconciliation.xlsx", read_only=True,
                                  data_only=True)
    rows = list(book["Summary"].iter_rows(values_only=True))
    book.close()
    header = next(r for r in rows if r and r[0] == "Lead provider")
    total = next(r for r in rows if r and r[0] == "Total")
    for key, column in (("expected", "Expected total"), ("dfe", "DfE total"),
                        ("difference", "Difference (DfE − expected)")):
        # the value the workbook's totals row was written with
        amount = Decimal(str(total[header.index(column)])).quantize(Decimal("0.01"))
        text = f"-£{-amount:,.2f}" if amount < 0 else f"£{amount:,.2f}"
        assert shown[key] == text, (key, shown[key], text)
    # and the expected total is the sum of the JSON's statements, by hand
    result = json.loads((cli_reference / "result.json").read_text())
    # over the statements compared (both sides' money); the planted sample's April 2026
    # of Harbour Lane 2025 (£4,920.81), missing from DfE's file, is on a line of its own
    compared = [s for s in result["statements"] if s["expected"] and s["dfe"]
                and s["dfe"].get("total") is not None]
    expected = sum(Decimal(s["expected"]["total"]) for s in compared)
    dfe = sum(Decimal(s["dfe"]["total"]) for s in compared)
    assert shown["expected"] == f"£{expected:,.2f}"
    assert shown["difference"] == f"-£{expected - dfe:,.2f}"
    assert shown["expected-not-compared"] == "£4,920.81"


def test_the_summary_filters_and_statuses(sample_run):
    client, location, _ = sample_run
    every = client.get(location, headers=BEARER).text
    assert every.count('data-status="') == 215
    differs = client.get(f"{location}?status=Differs", headers=BEARER).text
    rows = re.findall(r'data-status="([^"]+)"', differs)
    assert rows == ["Differs"] * 3
    # the three planted money differences, as the README quotes them
    assert "-£97.20" in differs and "-£1.96" in differs
    one = client.get(f"{location}?provider=Northbrook+Teaching+Institute&cohort=2022",
                     headers=BEARER).text
    assert "Harbour Lane" not in one.split('id="statements"')[1].split("</table>")[0]
    # a chart per provider and cohort, drawn on the server
    assert one.count("<svg") == 1
    # the statements that need checking: the six planted (samples/planted.json), not OK
    checking = client.get(f"{location}?status=needs-checking", headers=BEARER).text
    rows = re.findall(r'data-status="([^"]+)"', checking)
    assert sorted(rows) == ["DfE adjustment"] * 2 + ["Differs"] * 3 + ["Missing from DfE"]
    assert "Statements: 6 of 215" in checking and "The 6 statements that need checking" in every
    # the charts show every statement of each provider and cohort whatever the status
    # chosen (8 charts: 2 providers x 4 cohorts), the six marked with their status
    for page in (every, differs, checking):
        assert page.count("<svg") == 8 and page.count("<circle") == 6
    assert "October 2025: Differs</title></circle>" in checking


def test_a_statement_shows_ours_beside_dfes(sample_run):
    client, location, _ = sample_run
    differs = client.get(f"{location}?status=Differs&cohort=2024", headers=BEARER).text
    link = re.search(r'href="(/runs/[^"]+/statements/\d+)">October 2025<', differs).group(1)
    page = client.get(link, headers=BEARER).text
    assert "Payment breakdown: October 2025" in page
    # output ect retained-2 band C: we expect 3, DfE counts 2 (README finding 1)
    assert "DfE: 2" in page
    assert "£3,091.45" in page and "£2,994.25" in page
    assert "OUTPUT_COUNT_MISMATCH" in page
    # each count links to the declarations behind it
    behind = re.search(r'href="(/runs/[^"]+/declarations\?[^"]*type=retained-2[^"]*band=C[^"]*)"',
                       page.replace("&amp;", "&")).group(1)
    listed = client.get(behind, headers=BEARER).text
    assert "3 payments" in listed
    # the uplift count links to the declarations with an uplift: Northbrook 2024's
    # January 2025, 23 participants at £100.00 = £2,300.00, which DfE left out
    northbrook = client.get(f"{location}?provider=Northbrook+Teaching+Institute&cohort=2024"
                            "&status=Differs", headers=BEARER).text
    link = re.search(r'href="(/runs/[^"]+/statements/\d+)">January 2025<', northbrook).group(1)
    page = client.get(link, headers=BEARER).text.replace("&amp;", "&")
    uplift = re.search(r'href="(/runs/[^"]+/declarations\?[^"]*uplift=yes[^"]*)">23<', page)
    listed = client.get(uplift.group(1), headers=BEARER).text
    assert "23 payments" in listed and "with an uplift" in listed
    assert listed.count("£100.00</td>") == 23


def test_findings_filter_and_sort(sample_run):
    client, location, _ = sample_run
    errors = client.get(f"{location}/findings?severity=error&sort=-difference",
                        headers=BEARER).text
    caption = re.search(r'id="findings-caption">([^<]+)<', errors).group(1)
    assert caption.startswith("11 findings of ")
    # the largest money difference first, by size whatever its sign, then the counts
    cells = re.findall(r'data-difference="([^"]*)">([^<]*)<', errors)
    assert len(cells) == 11
    money = [Decimal(raw) for raw, shown in cells if shown.startswith(("£", "-£"))]
    assert money == sorted(money, key=abs, reverse=True) and len(money) >= 3
    assert cells[0] == ("-4920.81", "-£4,920.81")  # Harbour Lane 2025's missing April 2026
    # shown as money, as on the Summary: the £1.96 fee difference of January 2025
    assert re.search(r">£98\.10</td>\s*<td[^>]*>£96\.14</td>\s*<td[^>]*"
                     r'data-difference="-1\.96">-£1\.96<', errors)
    count = next(shown for raw, shown in cells if raw == "-1")  # October 2025's 3 against 2
    assert count == "-1"
    assert "What to do:" in errors


def test_the_declarations_not_paid_are_listed_with_why(sample_run, cli_reference):
    """The sample's 3,000 declarations less those on a statement (the JSON's
    declarations: payments and clawbacks, 2,962 distinct ids) are the 38 not paid, each
    with its most serious finding (or its state) and a link to its explanation."""
    client, location, _ = sample_run
    result = json.loads((cli_reference / "result.json").read_text())
    placed = {d["declaration_id"] for d in result["declarations"]}
    assert len(placed) == 2962
    page = client.get(f"{location}/declarations", headers=BEARER).text
    assert "The 38 declarations not paid, and why" in page
    unpaid = client.get(f"{location}/declarations?kind=unpaid", headers=BEARER).text
    assert re.search(r'id="declarations-caption">38 declarations not paid<', unpaid)
    listed = re.findall(r'href="/runs/[^"]+/declarations/([0-9a-f-]{36})"', unpaid)
    assert len(listed) == len(set(listed)) == 38 and not set(listed) & placed
    assert "DECL_<wbr>INELIGIBLE</span>: Decl ineligible" in unpaid
    one = client.get(f"{location}/declarations?kind=unpaid&q={listed[0]}", headers=BEARER).text
    assert re.search(r'id="declarations-caption">1 declaration not paid<', one)


def test_a_declarations_explanation_is_reconcile_explains(sample_run):
    client, location, _ = sample_run
    # README finding 3: a declaration after the milestone cut-off, paid in band C
    decl = "24921cbd-208e-40e4-9df8-6799e8ee2e9c"
    page = client.get(f"{location}/declarations/{decl}", headers=BEARER).text
    assert "DECL_AFTER_MILESTONE_CUTOFF" in page
    assert re.search(r"eligibility\.yaml:\d+", page)  # the rule's file:line
    assert "band C" in page and "£117.00" in page
    missing = client.get(f"{location}/declarations/not-a-declaration", headers=BEARER)
    assert missing.status_code == 404 and "no declaration with id" in missing.text
    # the search box opens an exact id
    found = client.get(f"{location}/declarations?q={decl}", headers=BEARER,
                       follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"].endswith(decl)


def test_runs_and_contracts_are_listed(sample_run):
    client, location, _ = sample_run
    runs = client.get("/runs", headers={**BEARER, "Accept": "application/json"}).json()
    assert [r["url"] for r in runs["runs"]] == [location]
    assert runs["runs"][0]["counts"]["statements"] == 215
    assert runs["runs"][0]["as_of"] == SAMPLE_AS_OF
    kept = client.get("/contracts", headers={**BEARER, "Accept": "application/json"}).json()
    assert sorted(c["name"] for c in kept["contracts"]) == sorted(
        p.name for f, p in sample_files() if f == "contracts")


# ------------------------------------------------------------------ the guard


def test_without_the_token_everything_but_the_assets_is_refused(client):
    for path in ("/", "/runs", "/contracts", "/runs/20260101-000000-00000000"):
        answer = client.get(path)
        assert answer.status_code == 401, path
        assert "?token=" in answer.text
    assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/runs", files=[("declarations", ("a.csv", b"x"))]).status_code == 401
    # static assets need no token, and come from this server only
    css = client.get("/assets/app.css")
    assert css.status_code == 200 and "govuk-frontend 6" in css.text[:400]


def test_the_token_becomes_a_session_cookie(client):
    first = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/"
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"reconcile-{PORT}={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/").status_code == 200  # the client keeps the cookie
    assert client.get("/", headers={"cookie": f"reconcile-{PORT}=wrong"}).status_code == 401
    assert client.get("/", headers={"cookie": f"reconcile-9999={TOKEN}"}).status_code == 401


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "127.0.0.1:9999",
                                  "localhost", "192.168.1.10:8765"])
def test_another_host_header_is_refused(client, host):
    answer = client.get("/", headers={**BEARER, "host": host})
    assert answer.status_code == 400
    assert "answers only at http://127.0.0.1:8765/" in answer.text
    assert client.get("/assets/app.css", headers={"host": host}).status_code == 400


def test_localhost_with_the_port_is_the_same_server(client):
    assert client.get("/", headers={**BEARER, "host": f"localhost:{PORT}"}).status_code == 200


def test_a_form_post_without_its_csrf_token_is_refused(store):
    client, guard = make_client(store)
    client.get(f"/?token={TOKEN}")  # a browser session: the cookie, no bearer
    declarations = ("declarations", ("d.csv", b"declaration_id\n1\n"))
    refused = client.post("/runs", files=[declarations], follow_redirects=False)
    assert refused.status_code == 403 and "The form has expired" in refused.text
    forged = client.post("/runs", files=[declarations], data={"csrf_token": "forged"},
                         follow_redirects=False)
    assert forged.status_code == 403
    assert client.post("/runs/sample", data={}, follow_redirects=False).status_code == 403
    other_site = client.post("/runs/sample", data={"csrf_token": guard.csrf_token},
                             headers={"origin": "http://evil.example"},
                             follow_redirects=False)
    assert other_site.status_code == 403
    assert store.all() == []  # nothing was run
    accepted = client.post("/runs", files=[declarations],
                           data={"csrf_token": guard.csrf_token}, follow_redirects=False)
    assert accepted.status_code == 303


def test_every_answer_carries_the_content_security_policy(client):
    for answer in (client.get("/", headers=BEARER), client.get("/assets/app.css"),
                   client.get("/nowhere", headers=BEARER), client.get("/")):
        policy = answer.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_pages_ask_nothing_of_any_other_host(client):
    page = client.get("/", headers=BEARER).text
    assert not re.search(r'(src|href|action)="(https?:)?//', page)
    css = client.get("/assets/app.css").text
    assert not re.search(r"url\((\"|')?(https?:)?//", css)
    assert "GDS Transport" not in css  # the GOV.UK font is only for GOV.UK services


# ------------------------------------------------------------------ uploads


def test_an_upload_past_the_limit_is_refused_with_a_plain_message(store):
    client, _ = make_client(store, max_upload_bytes=20_000)
    big = ("declarations", ("big.csv", b"x" * 30_000))
    answer = client.post("/runs", files=[big], headers=BEARER)
    assert answer.status_code == 413
    assert "The files are too large" in answer.text
    assert "at most 20,000 bytes in all" in answer.text and "--max-upload-mb" in answer.text
    as_json = client.post("/runs", files=[big], headers={**BEARER,
                                                         "Accept": "application/json"})
    assert as_json.status_code == 413 and "--max-upload-mb" in as_json.json()["message"]

    def chunks():  # no Content-Length: the limit is counted as the body arrives
        yield b"--b\r\nContent-Disposition: form-data; name=\"declarations\"; "
        yield b"filename=\"big.csv\"\r\n\r\n"
        for _ in range(40):
            yield b"y" * 1000
        yield b"\r\n--b--\r\n"

    streamed = client.post("/runs", content=chunks(), headers={
        **BEARER, "content-type": "multipart/form-data; boundary=b"})
    assert streamed.status_code == 413
    assert store.all() == []
    assert list(store.uploads_dir.iterdir()) == []  # nothing kept of the refused upload


def test_the_limit_is_in_serve_help():
    done = subprocess.run([sys.executable, "-m", "reconcile", "serve", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert re.search(r"--max-upload-mb \S+( \S+)? Largest upload .*\[default: 500", text)


def test_upload_names_are_never_paths(store):
    client, _ = make_client(store)
    rows = (b"declaration_id,participant_id,course_identifier,declaration_type,"
            b"declaration_date,state,cohort\n")
    answer = client.post("/runs", files=[("declarations", ("../../../escape.csv", rows))],
                         headers=BEARER, follow_redirects=False)
    assert answer.status_code == 303
    run = store.all()[0]
    assert (run.folder / "escape.csv").is_file()
    assert not (store.data_dir.parent / "escape.csv").exists()
    assert [i.name for i in run.inputs] == ["escape.csv"]
    assert oct(run.folder.stat().st_mode & 0o777) == "0o700"


@pytest.mark.parametrize(("files", "says"), [
    ([("declarations", ("a.csv", b"1")), ("declarations", ("a.csv", b"2"))],
     "two files are called a.csv"),
    ([("dfe_statements", ("s.xlsx", b"1"))], "Choose at least one declarations file"),
    ([("declarations", ("a.txt", b"1"))], "declarations must be .xlsx or .csv or .json"),
    ([("declarations", ("result.json", b"{}"))], "a run writes a file of that name"),
    ([("declarations", ("a.csv", b""))], "the file is empty"),
])
def test_an_upload_that_cannot_be_run_is_refused_with_422(store, files, says):
    client, _ = make_client(store)
    answer = client.post("/runs", files=files, headers=BEARER)
    assert answer.status_code == 422
    assert says in answer.text
    as_json = client.post("/runs", files=files,
                          headers={**BEARER, "Accept": "application/json"})
    assert as_json.status_code == 422 and any(says in p for p in as_json.json()["problems"])
    assert store.all() == []


@pytest.mark.parametrize(("fields", "says"), [
    ({"as_of": "2026-02-30"}, "is not a real date"),
    ({"as_of-day": "x", "as_of-month": "1", "as_of-year": "2026"}, "must be a real date"),
    ({"tolerance": "-1"}, "must be an amount of money of 0 or more"),
])
def test_bad_options_are_refused_with_422(store, fields, says):
    client, _ = make_client(store)
    answer = client.post("/runs", files=[("declarations", ("a.csv", b"1"))], data=fields,
                         headers=BEARER)
    assert answer.status_code == 422 and says in answer.text


def test_input_errors_are_located_with_422_and_nothing_written(store):
    client, _ = make_client(store)
    bad = (b"declaration_id,participant_id,course_identifier,declaration_type,"
           b"declaration_date,state,cohort,lead_provider\n"
           b"d1,p1,ecf-induction,startd,2023-10-02,paid,2023,Example Teaching Institute\n"
           b"d2,p2,ecf-induction,started,2023-02-31,paid,2023,Example Teaching Institute\n")
    answer = client.post("/runs", files=[("declarations", ("bad.csv", bad))],
                         headers=BEARER, follow_redirects=False)
    location = answer.headers["location"]
    wait(client, location)
    page = client.get(location, headers=BEARER)
    assert page.status_code == 422
    assert "Your files have errors" in page.text
    data = client.get(location, headers={**BEARER, "Accept": "application/json"})
    assert data.status_code == 422
    problems = data.json()["problems"]
    by_row = {p["row"]: p for p in problems}
    assert by_row[2]["file"] == "bad.csv" and by_row[2]["column"] == "declaration_type"
    assert "did you mean 'started'" in by_row[2]["what"]
    assert by_row[3]["column"] == "declaration_date" and "not a real date" in by_row[3]["what"]
    assert "bad.csv" in page.text and "declaration_type" in page.text
    run = store.get(location.rsplit("/", 1)[1])
    assert not (run.folder / "reconciliation.xlsx").exists()
    assert not (run.folder / "result.json").exists()
    assert client.get(f"{location}/result.json", headers=BEARER).status_code == 404


def test_a_run_that_crashes_says_so_plainly_and_the_server_goes_on(tmp_path):
    from reconcile.serve.pipeline_adapter import run_store

    def crash(run):
        raise RuntimeError("a bug")

    store = run_store(tmp_path / "data", execute=crash)
    try:
        client, _ = make_client(store)
        answer = upload(client, [("declarations", sample_files()[0][1])])
        wait(client, answer.headers["location"])
        page = client.get(answer.headers["location"], headers=BEARER)
        assert page.status_code == 500
        assert "This is a bug in reconcile, not a problem with your files" in page.text
        assert "Traceback" not in page.text
        data = client.get(answer.headers["location"],
                          headers={**BEARER, "Accept": "application/json"})
        assert data.status_code == 500 and data.json()["status"] == "failed"
        assert client.get("/", headers=BEARER).status_code == 200  # still serving
    finally:
        store.stop()


def test_a_running_run_answers_202_with_its_stage(tmp_path):
    import threading

    from reconcile.serve.pipeline_adapter import run_store

    release = threading.Event()

    def slow(run):
        run.update(stage="evaluate", timings=[["rules", 0.1], ["read", 0.2]])
        release.wait(30)
        raise RuntimeError("stopped by the test")

    store = run_store(tmp_path / "data", execute=slow)
    try:
        client, _ = make_client(store)
        location = upload(client, [("declarations", sample_files()[0][1])]).headers["location"]
        for _ in range(100):
            answer = client.get(location, headers={**BEARER, "Accept": "application/json"})
            if answer.json().get("stage") == "evaluate":
                break
        assert answer.status_code == 202
        assert answer.json()["status"] == "running" and answer.json()["stage"] == "evaluate"
        assert 0 < answer.json()["fraction"] < 1
        page = client.get(location, headers=BEARER)
        assert page.status_code == 200 and "<progress" in page.text
        assert 'http-equiv="refresh"' in page.text  # without JavaScript, it reloads
        assert client.post(f"{location}/delete", headers=BEARER).status_code == 409
        assert client.get(f"{location}/delete", headers=BEARER).status_code == 409
    finally:
        release.set()
        store.stop()


def _small_declarations(tmp_path):
    """Two declarations of the sample's Harbour Lane Education Trust, cohort 2024."""
    path = tmp_path / "small.csv"
    path.write_text("declaration_id,participant_id,course_identifier,declaration_type,"
                    "declaration_date,state,cohort,lead_provider\n"
                    "d1,p1,ecf-induction,started,2024-10-02,paid,2024,"
                    "Harbour Lane Education Trust\n"
                    "d2,p2,ecf-induction,started,2024-10-03,paid,2024,"
                    "Harbour Lane Education Trust\n", encoding="utf-8")
    return path


def test_contracts_are_kept_for_the_next_upload(store, tmp_path):
    client, _ = make_client(store)
    declarations = _small_declarations(tmp_path)
    contracts = [p for f, p in sample_files() if f == "contracts"][1:3]
    first = upload(client, [("declarations", declarations),
                            *(("contracts", p) for p in contracts)])
    second = upload(client, [("declarations", declarations)])
    runs = {r.id: r for r in store.all()}
    later = runs[second.headers["location"].rsplit("/", 1)[1]]
    assert sorted(later.names("contracts")) == sorted(p.name for p in contracts)
    assert (later.folder / contracts[0].name).read_bytes() == contracts[0].read_bytes()
    assert first.status_code == 303
    listed = client.get("/contracts", headers=BEARER).text
    assert contracts[0].name in listed


def test_deleting_a_run_deletes_its_files(store, tmp_path):
    client, guard = make_client(store)
    contract = next(p for f, p in sample_files() if p.name.endswith("trust-2024.yaml"))
    location = upload(client, [("declarations", _small_declarations(tmp_path)),
                               ("contracts", contract)]).headers["location"]
    wait(client, location)
    run = store.get(location.rsplit("/", 1)[1])
    assert run.status == "done", run.record
    assert run.folder.is_dir()
    client.get(f"/?token={TOKEN}")
    start = client.get("/").text
    assert f'href="{location}/delete"' in start  # the list's Delete asks first
    question = client.get(f"{location}/delete")
    assert question.status_code == 200 and "This cannot be undone" in question.text
    assert "small.csv" in question.text and contract.name in question.text
    assert f'action="{location}/delete"' in question.text
    assert guard.csrf_token in question.text
    assert run.folder.is_dir() and store.get(run.id) is not None  # asking deletes nothing
    answer = client.post(f"{location}/delete", data={"csrf_token": guard.csrf_token},
                         follow_redirects=False)
    assert answer.status_code == 303
    assert not run.folder.exists() and store.get(run.id) is None
    assert client.get(location).status_code == 404


# ------------------------------------------------------------------ the command


def _serve(tmp_path, *options: str, stderr: int) -> subprocess.Popen:
    """``reconcile serve`` on a free port, its data in ``tmp_path / "data"``."""
    return subprocess.Popen(
        [sys.executable, "-m", "reconcile", "serve", "--no-browser", "--port", "0", *options,
         "--data", str(tmp_path / "data")], stdout=subprocess.PIPE, stderr=stderr, text=True)


def _address(process: subprocess.Popen) -> tuple[int, str]:
    """The port and token of the first line of standard output, which must be exactly
    the address on this computer."""
    line = process.stdout.readline()
    match = re.fullmatch(r"reconcile: serving on http://127\.0\.0\.1:(\d+)/\?token=(\S+)\n",
                         line)
    assert match, line
    return int(match.group(1)), match.group(2)


def _listening_on(port: int) -> set[str] | None:
    """The IPv4 addresses a socket listens on at ``port``, from the kernel's own table
    (``/proc/net/tcp``: no program such as ``ss`` needed, a bare machine has none);
    None where there is no such table (not Linux)."""
    table = Path("/proc/net/tcp")
    if not table.exists():
        return None
    listening = set()
    for line in table.read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, local_port = local.split(":")
        if state == "0A" and int(local_port, 16) == port:  # 0A: LISTEN
            listening.add(".".join(str(b) for b in reversed(bytes.fromhex(address))))
    return listening


def test_serve_binds_127_0_0_1_and_prints_its_address_first(tmp_path):
    """The first line of standard output is exactly the address, with a fresh token."""
    import urllib.request

    process = _serve(tmp_path, stderr=subprocess.DEVNULL)
    try:
        port, token = _address(process)
        assert len(token) >= 32
        # listening on the loopback address only: its socket says so
        listening = _listening_on(port)
        assert listening in ({"127.0.0.1"}, None)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/runs", headers={
            "Authorization": f"Bearer {token}", "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.load(answer) == {"runs": []}
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()


def test_serve_defaults_to_127_0_0_1():
    from click.testing import CliRunner

    from reconcile.cli import main

    command = main.commands["serve"]
    defaults = {p.name: p.default for p in command.params}
    assert defaults["host"] == "127.0.0.1" and defaults["port"] == 8765
    assert defaults["max_upload_mb"] == 500
    busy = CliRunner().invoke(main, ["serve", "--port", "-1"])
    assert busy.exit_code == 2


def test_another_address_only_with_host():
    """--host ADDR: that address and this computer's name; 0.0.0.0: any address in digits."""
    from reconcile.serve.security import Guard

    lan = Guard("192.0.2.10", 8765, token=TOKEN, names=("finance-pc",))
    assert lan.start_url == f"http://192.0.2.10:8765/?token={TOKEN}"
    assert [lan.host_allowed(h) for h in ("192.0.2.10:8765", "finance-pc:8765",
                                          "localhost:8765", "192.0.2.11:8765",
                                          "evil.example:8765", "192.0.2.10:8766")] == [
        True, True, True, False, False, False]
    everywhere = Guard("0.0.0.0", 8765, token=TOKEN, names=("finance-pc",))
    # the first line's address is this computer's own (0.0.0.0 is no address to visit)
    assert everywhere.start_url == f"http://127.0.0.1:8765/?token={TOKEN}"
    assert [everywhere.host_allowed(h) for h in (
        "192.0.2.10:8765", "10.1.2.3:8765", "[fd00::2]:8765", "finance-pc:8765",
        "evil.example:8765", "10.1.2.3:9999", "10.1.2.3", "fd00::2:8765",
        "0x7f.1:8765")] == [True, True, True, True, False, False, False, False, False]
    assert Guard("::", 8765, token=TOKEN).start_url == f"http://[::1]:8765/?token={TOKEN}"


def test_serve_on_every_address_with_host(tmp_path):
    """reconcile serve --host 0.0.0.0: listening on all addresses, the first line the
    address on this computer, a warning for the others; a name not this computer's: 400."""
    import urllib.error
    import urllib.request

    process = _serve(tmp_path, "--host", "0.0.0.0", stderr=subprocess.PIPE)
    try:
        port, token = _address(process)
        process.stderr.readline()  # where the runs are kept
        warning = process.stderr.readline()
        assert "other computers can reach this page" in warning
        assert "not encrypted" in warning and f":{port}/?token={token}" in warning
        assert _listening_on(port) in ({"0.0.0.0"}, None)

        def status(host: str) -> int:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/runs", headers={
                "Authorization": f"Bearer {token}", "Accept": "application/json",
                "Host": host})
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    return answer.status
            except urllib.error.HTTPError as error:
                return error.code

        assert status(f"192.0.2.77:{port}") == 200  # another computer, by address
        assert status(f"evil.example:{port}") == 400  # DNS rebinding
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()


def test_a_host_that_is_not_this_computers_is_a_usage_error(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "reconcile", "serve", "--no-browser", "--port", "0",
         "--host", "192.0.2.254", "--data", str(tmp_path / "data")], capture_output=True,
        text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert "--host 192.0.2.254" in done.stderr and "cannot listen there" in done.stderr
    assert "give --host an address of this computer" in done.stderr
    assert "Traceback" not in done.stderr


def test_uploads_are_private_and_outside_the_request(tmp_path):
    """The streamed parser writes each file into the private folder, nothing else."""
    import asyncio

    from reconcile.serve.uploads import receive_upload

    body = (b"--b\r\nContent-Disposition: form-data; name=\"as_of\"\r\n\r\n2026-10-10\r\n"
            b"--b\r\nContent-Disposition: form-data; name=\"declarations\"; "
            b"filename=\"C:\\\\Users\\\\me\\\\decl.csv\"\r\nContent-Type: text/csv\r\n\r\n"
            b"a,b\r\n1,2\r\n--b--\r\n")

    async def stream():
        for i in range(0, len(body), 7):
            yield body[i:i + 7]

    folder = tmp_path / "up"
    result = asyncio.run(receive_upload(stream(), "multipart/form-data; boundary=b", folder))
    assert result.field("as_of") == "2026-10-10"
    (saved,) = result.files["declarations"]
    assert saved.name == "decl.csv" and saved.path.parent == folder
    assert saved.path.read_bytes() == b"a,b\r\n1,2"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert oct(saved.path.stat().st_mode & 0o777) == "0o600"


def test_a_body_that_is_no_form_is_refused(client):
    answer = client.post("/runs", content=b"{}", headers={**BEARER,
                                                          "content-type": "application/json"})
    assert answer.status_code == 422 and "multipart/form-data" in answer.text


def test_a_script_uploads_dfes_api_pages_as_the_command_line_reads_them(store, tmp_path):
    """Several declarations pages, participants and the statements list: each file is one
    repeated option, and the result is the command line's for the same files and
    options (the pages of tests/read/good/api, in DfE's v3 shapes)."""
    from reconcile.paths import bundled_rules_dir
    from tests.serve.conftest import cli

    api = Path(__file__).resolve().parents[1] / "read" / "good" / "api"
    files = [("declarations", api / "participant-declarations-page-1.json"),
             ("declarations", api / "participant-declarations-page-2.json"),
             ("participants", api / "participants-ecf.json"),
             ("dfe_statements", api / "statements.json")]
    files += [("contracts", p) for p in sorted((bundled_rules_dir() / "contracts").glob("*.yaml"))]
    client, _ = make_client(store)
    answer = upload(client, files, as_of="2024-06-01",
                    lead_provider="Example Teaching Institute")
    assert answer.status_code == 303, answer.text
    wait(client, answer.headers["location"])
    got = client.get(answer.headers["location"],
                     headers={**BEARER, "Accept": "application/json"})
    assert got.status_code == 200, got.text
    folder = tmp_path / "cli" / "runs" / "api"
    folder.mkdir(parents=True)
    options = []
    for field, path in files:
        shutil.copyfile(path, folder / path.name)
        options += [f"--{field.replace('_', '-')}", path.name]
    done = cli(["run", *options, "--lead-provider", "Example Teaching Institute",
                "--as-of", "2024-06-01", "--quiet", "--out", "r.xlsx", "--json",
                "result.json", "--history", "../../history.sqlite3"], folder)
    assert done.returncode in (0, 1), done.stderr
    assert got.content == (folder / "result.json").read_bytes()
    # January 2024, by hand (tests/read/test_api_shapes.py): two ECT starts in band A at
    # £119.40 (60% of £995 x 20%), one mentor start, one uplift of £100
    january = next(s for s in got.json()["statements"] if s["name"] == "January 2024")
    lines = {(x["participant_type"], x["declaration_type"], x["band"]): (x["count"], x["amount"])
             for x in january["expected"]["output_payments"]}
    assert lines == {("ect", "started", "A"): (2, "238.80"),
                     ("mentor", "started", "A"): (1, "119.40")}
    assert january["expected"]["uplift"] == {"count": 1, "amount": "100.00"}


def test_uploads_are_followed_in_the_history_with_notes(store, tmp_path):
    """Two months of uploads: the second run's changes, findings' statuses, and a note
    added on the Findings page, read back from the history the runs were recorded in."""
    client, guard = make_client(store)
    contract = next(p for f, p in sample_files() if p.name.endswith("trust-2024.yaml"))
    first = tmp_path / "first"
    first.mkdir()
    declarations = _small_declarations(first)
    one = upload(client, [("declarations", declarations), ("contracts", contract)],
                 as_of="2024-11-01").headers["location"]
    wait(client, one)
    second = tmp_path / "second"
    second.mkdir()
    more = second / "small.csv"
    more.write_text(declarations.read_text() + "d3,p3,ecf-induction,started,2024-10-04,paid,"
                    "2024,Harbour Lane Education Trust\n", encoding="utf-8")
    two = upload(client, [("declarations", more)], as_of="2024-12-01").headers["location"]
    wait(client, two)
    data = client.get(two, headers={**BEARER, "Accept": "application/json"}).json()
    assert data["history"]["run_id"] == 2 and data["history"]["previous_run_id"] == 1
    assert any(c["declaration_id"] == "d3" for c in data["history"]["changes"])
    # the Summary says so, and the History pages list the runs and the changes
    summary = client.get(two, headers=BEARER).text
    assert "run 2</a> of your history" in summary and "since run 1 of 1 November 2024" in summary
    listed = client.get("/history", headers={**BEARER, "Accept": "application/json"}).json()
    assert [r["run_id"] for r in listed["runs"]] == [2, 1]
    changes = client.get("/history/2", headers=BEARER).text
    assert "d3" in changes and "since run 1" in client.get("/history", headers=BEARER).text
    # each finding's status: d3's are new, d1's still open
    findings = client.get(f"{two}/findings", headers=BEARER).text
    assert "Status and age" in findings
    about = {f["declaration_id"]: f for f in data["findings"] if f["declaration_id"]}
    assert about["d3"]["status"] == "new" and about["d1"]["status"] == "open"
    # d1's first seen in run 1 (as of 1 November 2024): 30 days old on 1 December 2024
    d1 = client.get(f"{two}/findings?q=d1", headers=BEARER).text
    assert re.search(r'>open</strong><br><span class="govuk-body-s" data-age="30">30 days, '
                     r"since 1 November 2024<", d1)
    # a note on d1's finding, from the page's form (cookie + CSRF token)
    client.get(f"/?token={TOKEN}")
    noted = client.post(f"{two}/notes", data={
        "csrf_token": guard.csrf_token, "fingerprint": about["d1"]["fingerprint"],
        "status": "disputed", "text": "raised with DfE on 2 Dec", "by": "Alice",
        "back": f"{two}/findings?q=d1"}, follow_redirects=False)
    assert noted.status_code == 303 and noted.headers["location"] == f"{two}/findings?q=d1"
    shown = client.get(f"{two}/findings?q=d1").text
    assert "raised with DfE on 2 Dec" in shown and "Alice" in shown
    from reconcile import history

    with history.open_store(store.history_path, create=False) as opened:
        (followed,) = [f for f in history.followed_findings(opened)
                       if f.fingerprint == about["d1"]["fingerprint"]]
        assert followed.note.status == "disputed"
    refused = client.post(f"{two}/notes", data={
        "csrf_token": guard.csrf_token, "fingerprint": about["d1"]["fingerprint"],
        "status": "ignored", "text": "x"})
    assert refused.status_code == 422 and "not a note status" in refused.text
    forged = client.post(f"{two}/notes", data={"fingerprint": about["d1"]["fingerprint"],
                                               "status": "accepted", "text": "x"})
    assert forged.status_code == 403


def test_the_sample_is_not_recorded_in_the_users_history(store):
    client, guard = make_client(store)
    answer = client.post("/runs/sample", data={"csrf_token": guard.csrf_token},
                         headers=BEARER, follow_redirects=False)
    wait(client, answer.headers["location"])
    data = client.get(answer.headers["location"],
                      headers={**BEARER, "Accept": "application/json"}).json()
    assert data.get("history") is None
    assert not store.history_path.exists()


def test_a_runs_pages_are_made_again_after_a_restart(tmp_path):
    """A run whose result the server no longer holds (it restarted): its pages are made
    again from its kept files (202 and the progress page meanwhile), the same pages as
    before, its findings' status and age read back from the history; nothing written and
    no new run recorded. The sample planted as a second month (the first without DfE's
    statements), so the second run has changes and findings followed."""
    from reconcile import history
    from reconcile.serve.pipeline_adapter import run_store

    data = tmp_path / "data"
    store = run_store(data)
    client, _ = make_client(store)
    files = sample_files()
    without_dfe = [(f, p) for f, p in files if f != "dfe_statements"]
    one = upload(client, without_dfe, as_of="2026-09-10").headers["location"]
    wait(client, one)
    two = upload(client, files, as_of=SAMPLE_AS_OF).headers["location"]
    wait(client, two)
    pages = [two, f"{two}/findings?severity=error", f"{two}/statements/3",
             f"{two}/findings?sort=-age&page=2"]
    before = [client.get(p, headers=BEARER).text for p in pages]
    assert "since run 1 of 10 September 2026" in before[0]
    folder = store.get(two.rsplit("/", 1)[1]).folder
    written = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    store.stop()

    store = run_store(data)  # the server started again
    try:
        client, _ = make_client(store)
        waiting = client.get(pages[1], headers=BEARER)
        assert waiting.status_code == 202
        assert "Opening this run's pages again" in waiting.text
        wait(client, two)
        after = [client.get(p, headers=BEARER).text for p in pages]
        assert after == before
        # nothing written in the run's folder, nothing recorded in the history
        assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == written
        with history.open_store(store.history_path, create=False) as opened:
            assert [r.run_id for r in history.list_runs(opened)] == [2, 1]
    finally:
        store.stop()
