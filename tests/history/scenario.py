"""A small two-provider history, written here: three monthly runs of ``reconcile run``.

Cohort 2023's calendar (bundled rules): output-fee statements January 2024 (cut-off
2023-12-31), April 2024 (2024-03-31), August 2024 (2024-07-31); the other months
carry the service fee only. Both contracts: band A 0-6 at £1,000 per participant,
band B 7-8 at £800; 60% output, started 20% of it: £120.00 in band A; retained-1
15%: £90.00; an explicit monthly service fee of £1,000; VAT 20%.

Alpha Trust (with DfE's statements for January, paid, and April 2024):
  d1-d4 started, paid, January 2024 (p1-p4)
  d5    started, payable, April 2024 (p5)
  d6    retained-1 of p1, payable, April 2024
  d7    started of p4 again, payable, April 2024: a duplicate (DECL_DUPLICATE)
DfE's January (paid): started A 4 x £120.00 = £480.00, service fee £1,000.00, VAT
£296.00, total £1,776.00. DfE's April (not paid): started A 2 x £120.00, retained-1 A
1 x £90.00, service fee, VAT £266.00, total £1,596.00: what we expect.

Beta Institute (no DfE statements): e1, e2 started, paid, January 2024.

Run 2 plants, and nothing else:
  * DfE moved d5 from April 2024 to August 2024;
  * DfE's paid January statement now counts 3 started (£360.00; total £1,656.00);
  * d1 is clawed back: awaiting-clawback, clawback statement August 2024;
  * Beta's contract: band A £1,100 per participant (started £132.00);
  * d8 added (started of p8, eligible, submitted 2024-06-01: August 2024 by the
    calendar); d7 removed.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal as D
from pathlib import Path

from reconcile.sheets import Date, Money, Number, Sheet, Text, Workbook
from reconcile.write import write_workbook

ALPHA, BETA = "Alpha Trust", "Beta Institute"


def contract(provider: str, band_a: int = 1000) -> str:
    return (f"lead_provider: {provider}\ncohort: 2023\nvat_chargeable: true\n"
            f"recruitment_target: 8\nuplift_amount: 100\nmonthly_service_fee: 1000\n"
            f"bands:\n  - {{name: A, min: 0, max: 6, per_participant: {band_a}}}\n"
            f"  - {{name: B, min: 7, max: 8, per_participant: 800}}\n")


COLUMNS = ("declaration_id", "participant_id", "course_identifier", "declaration_type",
           "declaration_date", "created_at", "state", "cohort", "lead_provider",
           "statement_name", "clawback_statement_name", "delivery_partner_id")


def declarations(run: int) -> list[tuple]:
    rows = []

    def add(ident, participant, dtype, declared, created, state, provider=ALPHA,
            statement="", clawback=""):
        rows.append((ident, participant, "ecf-induction", dtype, declared, created, state,
                     2023, provider, statement, clawback, "dp-1"))

    for n in range(1, 5):
        clawed = run >= 2 and n == 1
        add(f"d{n}", f"p{n}", "started", "2023-10-02", "2023-10-05T10:00:00Z",
            "awaiting-clawback" if clawed else "paid", statement="January 2024",
            clawback="August 2024" if clawed else "")
    add("d5", "p5", "started", "2023-12-15", "2024-01-10T10:00:00Z", "payable",
        statement="August 2024" if run >= 2 else "April 2024")
    add("d6", "p1", "retained-1", "2024-02-01", "2024-02-05T10:00:00Z", "payable",
        statement="April 2024")
    if run == 1:
        add("d7", "p4", "started", "2023-12-20", "2024-02-10T10:00:00Z", "payable",
            statement="April 2024")
    if run >= 2:
        add("d8", "p8", "started", "2023-12-20", "2024-06-01T10:00:00Z", "eligible")
    for n in (1, 2):
        add(f"e{n}", f"q{n}", "started", "2023-10-02", "2023-10-05T10:00:00Z", "paid",
            provider=BETA, statement="January 2024")
    return rows


SERVICE = ("service_fee", None, None, None, None, None, "1000.00")


def dfe_statements(run: int) -> dict:
    """name -> (cut-off, payment date, paid, lines, total); a line: (type, participant
    type, declaration type, band, count, fee, amount)."""
    started = 3 if run >= 2 else 4  # run 2: DfE's paid January counts one started less
    january = [("output", "ect", "started", "A", started, "120.00", f"{started * 120}.00"),
               SERVICE, ("vat", None, None, None, None, None, "296.00")]
    april = [("output", "ect", "started", "A", 2, "120.00", "240.00"),
             ("output", "ect", "retained-1", "A", 1, "90.00", "90.00"), SERVICE,
             ("vat", None, None, None, None, None, "266.00")]
    return {"January 2024": ("2023-12-31", "2024-01-25", True, january,
                             f"{1296 + started * 120}.00"),
            "April 2024": ("2024-03-31", "2024-04-25", False, april, "1596.00")}


def dfe_workbook(statements: dict) -> Workbook:
    head = ("statement_id", "lead_provider", "cohort", "name", "cut_off_date", "payment_date",
            "output_fee", "paid", "vat_chargeable", "total")
    rows = [tuple(Text(h, "header") for h in head)]
    line_head = ("statement_id", "line_type", "participant_type", "declaration_type", "band",
                 "count", "fee_per_declaration", "amount")
    lines = [tuple(Text(h, "header") for h in line_head)]
    for i, (name, (cut_off, payment, paid, statement_lines, total)) in enumerate(
            statements.items()):
        sid = f"s-{i:02d}"
        rows.append((Text(sid), Text(ALPHA), Number(2023), Text(name),
                     Date(dt.date.fromisoformat(cut_off)), Date(dt.date.fromisoformat(payment)),
                     Text("true"), Text(str(paid).lower()), Text("true"), Money(D(total))))
        for line_type, ptype, dtype, band, count, fee, amount in statement_lines:
            lines.append((Text(sid), Text(line_type), Text(ptype) if ptype else None,
                          Text(dtype) if dtype else None, Text(band) if band else None,
                          Number(count) if count is not None else None,
                          Money(D(fee)) if fee else None, Money(D(amount))))
    return Workbook((Sheet("Statements", tuple(rows)), Sheet("Lines", tuple(lines))))


AS_OF = {1: "2024-09-01", 2: "2024-10-01", 3: "2024-11-01"}


def write_run(folder: Path, run: int) -> list[str]:
    """The inputs of run 1, 2 or 3 (3 is 2 again, a month on) and its command line."""
    folder.mkdir(parents=True, exist_ok=True)
    contracts = folder / "contracts"
    contracts.mkdir(exist_ok=True)
    (contracts / "alpha.yaml").write_text(contract(ALPHA))
    (contracts / "beta.yaml").write_text(contract(BETA, 1100 if run >= 2 else 1000))
    with open(folder / "declarations.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(declarations(run))
    write_workbook(dfe_workbook(dfe_statements(run)), folder / "dfe.xlsx")
    return ["run", "--declarations", str(folder / "declarations.csv"),
            "--dfe-statements", str(folder / "dfe.xlsx"), "--contracts", str(contracts),
            "--as-of", AS_OF[run], "--out", str(folder / "reconciliation.xlsx"),
            "--json", str(folder / "result.json"), "--quiet"]
