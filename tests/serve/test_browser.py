"""The page in a real browser: Debian's Chromium driven by Playwright for Python.

One session of a finance user, as the issue describes it: upload the bundled sample's
files on the Start page, see its six planted discrepancies on the Summary, open a
statement, follow a figure to its declarations and one declaration's explanation,
download the workbook (the same bytes as ``reconcile run`` writes for the same files),
and upload a bad file to see its located error. Every request the browser makes goes
to the server itself.

Chromium comes from Debian (``make system`` installs it, tools/system-packages.txt);
Playwright starts that binary (``executable_path``) and downloads no browser. As root
Chromium needs ``--no-sandbox``; on a closed network the background services are off.

The screenshots in docs/ (README, finance section) are taken here: run with
``RECONCILE_UPDATE_SCREENSHOTS=1`` to write them there (otherwise to a temporary folder).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconcile.paths import bundled_samples_dir
from tests.serve.conftest import sample_files

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``reconcile serve`` as a user starts it; its address (with the token)."""
    data = tmp_path_factory.mktemp("serve-browser")
    process = subprocess.Popen(
        [sys.executable, "-m", "reconcile", "serve", "--no-browser", "--port", "0",
         "--data", str(data / "data")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, cwd=data)
    try:
        line = process.stdout.readline()
        match = re.fullmatch(r"reconcile: serving on (http://127\.0\.0\.1:\d+)/\?token=\S+\n",
                             line)
        assert match, line
        yield line.split("serving on ")[1].strip(), match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make system` installs Debian's chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


#: checked on every page: one h1, no heading level skipped, every field labelled, every
#: image-like element named, every link and button with a name
_ACCESSIBILITY = """() => {
  const problems = [];
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`${h1} h1 elements`);
  let last = 1;
  for (const h of document.querySelectorAll("main h1, main h2, main h3, main h4")) {
    const level = Number(h.tagName[1]);
    if (level > last + 1) problems.push(`heading ${h.tagName} after h${last}: ${h.textContent.trim()}`);
    last = level;
  }
  for (const field of document.querySelectorAll("input:not([type=hidden]):not([hidden]), select, textarea")) {
    const named = field.labels.length || field.getAttribute("aria-label") || field.getAttribute("aria-labelledby");
    if (!named) problems.push(`unlabelled ${field.tagName} ${field.name}`);
  }
  for (const svg of document.querySelectorAll("svg[role=img]")) {
    if (!svg.getAttribute("aria-label")) problems.push("a chart without a name");
  }
  for (const el of document.querySelectorAll("a[href], button")) {
    if (!el.textContent.trim() && !el.getAttribute("aria-label")) problems.push(`an empty ${el.tagName}`);
  }
  return problems;
}"""


def _accessible(page) -> None:
    problems = page.evaluate(_ACCESSIBILITY)
    assert problems == [], f"{page.url}: {problems}"


def _screenshots(tmp_path: Path) -> Path:
    return DOCS if os.environ.get("RECONCILE_UPDATE_SCREENSHOTS") else tmp_path


def test_a_finance_user_reconciles_the_sample(server, browser, cli_reference, tmp_path):
    start, base = server
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    errors: list[str] = []  # script errors, CSP violations, failed loads
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(start)
    assert page.url == f"{base}/"  # the token became a cookie and left the address
    assert page.title().startswith("Reconcile this month's statements")
    _accessible(page)
    page.keyboard.press("Tab")  # the keyboard's first stop skips to the content
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"

    # ---- the Start page: the sample's files, as a user picks them
    by_field: dict[str, list[str]] = {}
    for field, path in sample_files():
        by_field.setdefault(field, []).append(str(path))
    for field, paths in by_field.items():
        page.set_input_files(f"input[name={field}]", paths)
    page.fill("#as_of-day", "10")
    page.fill("#as_of-month", "10")
    page.fill("#as_of-year", "2026")
    page.get_by_role("button", name="Reconcile").click()
    page.wait_for_selector("h1:text-is('Summary')", timeout=180_000)

    # ---- the Summary: each planted discrepancy's statement is not OK
    manifest = json.loads((bundled_samples_dir() / "planted.json").read_text())
    planted = manifest["discrepancies"]
    assert len(planted) == 6
    for entry in planted:
        row = page.locator(f'#statements tr[data-provider="{entry["lead_provider"]}"]'
                           f'[data-cohort="{entry["cohort"]}"]'
                           f'[data-statement="{entry["statement"]}"]')
        assert row.count() == 1, entry
        assert row.get_attribute("data-status") in ("Differs", "Missing from DfE",
                                                    "DfE adjustment"), entry
    assert page.locator("#statements tbody tr").count() == 215
    _accessible(page)
    flagged = page.locator('#statements tbody tr:not([data-status="OK"])').count()
    assert flagged == 6
    page.select_option("#status", "needs-checking")
    page.get_by_role("button", name="Show statements").click()
    page.wait_for_selector("#statements-caption:has-text('6 of 215')")
    assert page.locator("#statements tbody tr").count() == 6
    # the statements that need checking, their totals and the first charts (the page
    # goes on with a chart per provider and cohort)
    page.screenshot(path=str(_screenshots(tmp_path) / "serve-summary.png"), full_page=True,
                    clip={"x": 0, "y": 0, "width": 1280, "height": 2300})

    # ---- a statement, laid out like DfE's payment breakdown
    page.locator('#statements tr[data-cohort="2024"][data-statement="October 2025"] th a').click()
    page.wait_for_selector("h1:has-text('Payment breakdown: October 2025')")
    differing = page.locator(".output-payments td.app-differs").first
    assert "DfE: 2" in differing.inner_text()
    _accessible(page)
    page.screenshot(path=str(_screenshots(tmp_path) / "serve-statement.png"), full_page=True)

    # ---- the declarations behind that figure, and one declaration's explanation
    differing.locator("a").click()
    page.wait_for_selector("#declarations-caption:has-text('3 payments')")
    page.locator("#declarations tbody a").first.click()
    page.wait_for_selector("h1:has-text('Why this declaration is paid')")
    rules = page.locator("#rules").inner_text()
    assert re.search(r"eligibility\.yaml:\d+", rules)
    assert "band C" in page.locator("#payments").inner_text()
    _accessible(page)
    page.get_by_role("link", name="Findings").click()
    page.wait_for_selector("#findings")
    _accessible(page)
    page.get_by_role("link", name="Declarations", exact=True).click()
    page.get_by_role("link", name=re.compile("declarations not paid")).click()
    page.wait_for_selector("#declarations-caption:has-text('38 declarations not paid')")
    _accessible(page)

    # ---- the download is the command line's workbook, byte for byte
    page.get_by_role("link", name="Summary").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Reconciliation workbook (reconciliation.xlsx)").click()
    saved = tmp_path / "downloaded.xlsx"
    download.value.save_as(saved)
    assert saved.read_bytes() == (cli_reference / "reconciliation.xlsx").read_bytes()

    # ---- a bad file: its located errors, nothing computed
    bad = tmp_path / "bad.csv"
    shutil.copyfile(bundled_samples_dir() / "contracts" / "harbour-lane-education-trust-2024.yaml",
                    tmp_path / "contract.yaml")
    bad.write_text("declaration_id,participant_id,course_identifier,declaration_type,"
                   "declaration_date,state,cohort,lead_provider\n"
                   "d1,p1,ecf-induction,startd,2024-10-02,paid,2024,"
                   "Harbour Lane Education Trust\n", encoding="utf-8")
    page.get_by_role("link", name="New run").click()
    page.set_input_files("input[name=declarations]", str(bad))
    page.set_input_files("input[name=contracts]", str(tmp_path / "contract.yaml"))
    page.get_by_role("button", name="Reconcile").click()
    page.wait_for_selector("h1:has-text('Your files have errors')", timeout=60_000)
    problem = page.locator("#problems tbody tr").first.inner_text()
    assert "bad.csv" in problem and "2" in problem and "declaration_type" in problem
    assert "did you mean 'started'" in problem
    assert "1 problem" in page.locator(".govuk-error-summary").inner_text()
    _accessible(page)

    # ---- nothing was asked of any other host
    others = [url for url in requested if not url.startswith((base + "/", "data:"))]
    assert others == []
    # the 422 of the bad upload is the only error the browser saw
    assert [e for e in errors if "422" not in e] == []
    page.close()
