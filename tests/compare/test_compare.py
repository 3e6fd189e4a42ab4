"""Expected against DfE, line by line: each discrepancy once, with its code and place.

Statement used below ("May 2024", cohort 2023), figures by hand (tests/builders.py prices):
  output ect started band A      10 x £119.40 = £1,194.00
  output ect retained-1 band A    4 x  £89.55 =   £358.20
  output mentor started band A    2 x £119.40 =   £238.80
  uplift fees                     3 x £100    =   £300.00
  service fee                                   £1,086.21
  clawback ect started band A     1 x £119.40 =  -£119.40
  net £3,057.81; VAT 20% £611.56 (611.562); total £3,669.37
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from reconcile.compare import (
    DATES_ONLY,
    DFE_ADJUSTMENT,
    DIFFERS,
    MISSING,
    NOT_EXPECTED,
    NOT_IN_DFE,
    OK,
    compare,
)
from reconcile.findings import CATALOGUE, Severity, finding
from reconcile.model import Declaration
from tests.builders import (
    LP,
    RETAINED_A,
    STARTED_A,
    calculation,
    compare_rulebook,
    attribution,
    dfe,
    dfe_like,
    expected,
    key,
    line,
)

D = Decimal
RULEBOOK = compare_rulebook()
MAY = dt.date(2024, 5, 25)


def may(**changes):
    values = {
        "outputs": (("ect", "started", "A", 10, STARTED_A), ("ect", "retained-1", "A", 4, RETAINED_A),
                    ("mentor", "started", "A", 2, STARTED_A)),
        "clawbacks": (("ect", "started", "A", 1, STARTED_A),),
        "uplift": (3, "300"), "service_fee": "1086.21",
    }
    values.update(changes)
    return expected("May 2024", MAY, **values)


def run(expected_statements, dfe_statements, **kw):
    return compare(calculation(tuple(expected_statements), kw.pop("attributions", ()),
                               kw.pop("findings", ())),
                   tuple(dfe_statements), RULEBOOK, **kw)


def codes(comparison):
    return sorted(f.code for f in comparison.findings)


def with_line(d, predicate, replacement):
    """DfE's statement with the lines matching ``predicate`` replaced (None: removed)."""
    lines = []
    for x in d.lines:
        if predicate(x):
            if replacement is not None:
                lines.append(replacement)
        else:
            lines.append(x)
    return d._replace(lines=tuple(lines))


def test_the_hand_figures_of_the_statement():
    e = may()
    assert (e.net, e.vat, e.total) == (D("3057.81"), D("611.56"), D("3669.37"))


def test_a_statement_exactly_as_expected_gives_no_finding_and_status_ok():
    e = may()
    result = run([e], [dfe_like(e)])
    assert result.findings == ()
    (pair,) = result.pairs
    assert pair.status == OK and pair.difference == 0
    assert pair.dfe_total == D("3669.37") and pair.hidden == 0
    assert [x.label for x in pair.lines] == [
        "output ect started band A", "output ect retained-1 band A",
        "output mentor started band A", "clawback ect started band A",
        "service fee", "uplift", "VAT"]


def test_count_off_by_one_in_a_band_is_one_count_finding():
    e = may()
    d = with_line(dfe_like(e, total=False), lambda x: x.declaration_type == "started"
                  and x.participant_type == "ect" and x.line_type == "output",
                  line("output", "1074.60", "ect", "started", "A", 9, "119.40", row=7))
    d = d._replace(lines=tuple(x if x.line_type != "vat" else line("vat", "587.68")
                               for x in d.lines))
    result = run([e], [d])
    (f,) = result.findings
    assert f.code == "OUTPUT_COUNT_MISMATCH" and f.severity is Severity.ERROR
    assert (f.statement, f.line, f.expected, f.actual, f.difference) == (
        "May 2024", "output ect started band A", 10, 9, "-1")
    assert "-£119.40" in f.message and str(f.source) == "dfe.xlsx, sheet Lines, row 7"
    assert f.suggestion.endswith(
        "They are in the Declarations sheet: filter Expected statement = May 2024, "
        "Declaration type = started, Participant type = ect, Band = A "
        "(10 declaration(s) expected).")
    pair = result.pairs[0]
    assert pair.status == DIFFERS and pair.difference == D("-143.28")  # 119.40 x 1.2
    assert pair.lines[0].codes == ("OUTPUT_COUNT_MISMATCH",)


def test_a_wrong_fee_per_participant_is_one_fee_finding():
    e = may()
    d = with_line(dfe_like(e), lambda x: x.declaration_type == "retained-1",
                  line("output", "352.00", "ect", "retained-1", "A", 4, "88.00"))
    d = d._replace(total=D("3661.93"), lines=tuple(
        x if x.line_type != "vat" else line("vat", "610.32") for x in d.lines))
    result = run([e], [d])
    assert codes(result) == ["OUTPUT_FEE_MISMATCH"]
    (f,) = result.findings
    assert (f.line, f.expected, f.actual, f.difference) == (
        "output ect retained-1 band A", D("89.55"), D("88.00"), "-1.55")
    assert "-£6.20 over 4 declaration(s)" in f.message


def test_a_line_that_does_not_add_up_is_an_amount_finding():
    e = may()
    d = with_line(dfe_like(e, total=False), lambda x: x.declaration_type == "retained-1",
                  line("output", "358.00", "ect", "retained-1", "A", 4, "89.55"))
    d = d._replace(lines=tuple(x if x.line_type != "vat" else line("vat", "611.52")
                               for x in d.lines))
    (f,) = run([e], [d]).findings
    assert f.code == "OUTPUT_AMOUNT_MISMATCH" and f.difference == "-0.20"
    assert "count x fee is £358.20" in f.message


def test_a_missing_uplift_line_is_reported_as_missing():
    e = may()
    d = with_line(dfe_like(e, total=False), lambda x: x.line_type in ("uplift", "vat"), None)
    d = d._replace(lines=(*d.lines, line("vat", "551.56")))
    result = run([e], [d])
    assert codes(result) == ["LINE_MISSING_FROM_DFE"]
    (f,) = result.findings
    assert (f.line, f.expected, f.actual, f.difference) == ("uplift", D("300.00"), D("0.00"),
                                                            "-300.00")
    assert "(3 declaration(s))" in f.message


def test_uplift_count_differs_is_an_uplift_finding():
    e = may()
    d = with_line(dfe_like(e, total=False), lambda x: x.line_type in ("uplift", "vat"), None)
    d = d._replace(lines=(*d.lines, line("uplift", "200", count=2), line("vat", "591.56")))
    (f,) = run([e], [d]).findings
    assert (f.code, f.expected, f.actual) == ("UPLIFT_MISMATCH", D("300.00"), D("200.00"))
    assert "DfE 2 declaration(s), we expect 3" in f.message


def test_an_adjustment_is_listed_for_follow_up_and_is_the_dfe_adjustment_status():
    e = may()
    d = dfe_like(e, total=False)
    d = d._replace(lines=tuple(x for x in d.lines if x.line_type != "vat") + (
        line("adjustment", "-250.00", description="=Replacement mentor uplift"),
        line("vat", "561.56")))
    result = run([e], [d])
    (f,) = result.findings
    assert f.code == "UNEXPLAINED_ADJUSTMENT" and f.severity is Severity.INFO
    assert f.line == "adjustment: =Replacement mentor uplift" and f.actual == D("-250.00")
    pair = result.pairs[0]
    # every line of ours matches; DfE's total differs by its own adjustment (x 1.2 VAT)
    assert pair.status == DFE_ADJUSTMENT == "DfE adjustment"
    assert pair.difference == D("-300.00")


def test_a_total_above_the_sum_of_dfes_lines_is_a_hidden_reconcile_amount():
    e = may()
    # DfE's net includes a reconcile amount of £50 and its VAT is on that net.
    d = dfe_like(e, total=False)
    d = d._replace(total=D("3729.37"), lines=tuple(
        x if x.line_type != "vat" else line("vat", "621.56") for x in d.lines))
    result = run([e], [d])
    assert codes(result) == ["HIDDEN_RECONCILE_AMOUNT"]
    (f,) = result.findings
    assert (f.actual, f.line) == (D("50.00"), "reconcile amount")
    pair = result.pairs[0]
    assert pair.hidden == D("50.00") and pair.dfe_net == D("3107.81")
    assert pair.lines[-2].label == "reconcile amount (in DfE's total only)"
    assert pair.status == DFE_ADJUSTMENT  # a hidden amount is DfE's own adjustment too
    # the finding is attached to its line by key, though its words differ from the label
    assert pair.lines[-2].codes == ("HIDDEN_RECONCILE_AMOUNT",)
    assert f.line_key == pair.lines[-2].key


def test_two_adjustments_with_the_same_words_are_two_lines_each_with_its_finding():
    e = may()
    d = dfe_like(e, total=False)
    d = d._replace(lines=tuple(x for x in d.lines if x.line_type != "vat") + (
        line("adjustment", "-250.00", description="Correction"),
        line("adjustment", "100.00", description="Correction"),
        line("vat", "581.56")))
    result = run([e], [d])
    first, second = sorted(result.findings, key=lambda f: f.amount)
    assert (first.amount, second.amount) == (D("-250.00"), D("100.00"))
    assert first.line == second.line and first.line_key != second.line_key
    adjustments = [x for x in result.pairs[0].lines if x.section == "adjustment"]
    assert [(x.dfe_amount, x.codes) for x in adjustments] == [
        (D("-250.00"), ("UNEXPLAINED_ADJUSTMENT",)), (D("100.00"), ("UNEXPLAINED_ADJUSTMENT",))]
    assert [x.key for x in adjustments] == [first.line_key, second.line_key]


def test_a_total_without_vat_lines_takes_the_vat_out_at_the_contract_rate():
    e = may()
    d = with_line(dfe_like(e), lambda x: x.line_type == "vat", None)
    assert run([e], [d]).findings == ()
    d = d._replace(total=D("3729.37"))  # £50 net hidden: 50 x 1.2 = 60 more in the total
    (f,) = run([e], [d]).findings
    assert f.code == "HIDDEN_RECONCILE_AMOUNT" and f.actual == D("50.00")


def test_vat_not_on_dfes_own_net_is_a_vat_finding():
    e = may()
    d = with_line(dfe_like(e, total=False), lambda x: x.line_type == "vat",
                  line("vat", "0.00"))
    (f,) = run([e], [d]).findings
    assert (f.code, f.expected, f.actual) == ("VAT_MISMATCH", D("611.56"), D("0.00"))


def test_a_missing_statement_inside_dfes_list_is_an_error():
    april, may_e, june = (expected("April 2024", dt.date(2024, 4, 25), service_fee="10"),
                          may(),
                          expected("June 2024", dt.date(2024, 6, 25), service_fee="10",
                                   output_fee=False))
    result = run([april, may_e, june], [dfe_like(april), dfe_like(june)])
    (f,) = result.findings
    assert (f.code, f.severity, f.statement) == ("STATEMENT_MISSING_FROM_DFE", Severity.ERROR,
                                                 "May 2024")
    assert f.expected == D("3669.37")
    assert [p.status for p in result.pairs] == [OK, MISSING, OK]


def test_a_non_output_statement_is_not_missing_from_a_list_of_output_ones_only():
    # DfE's v3 API lists output-fee statements only: a service-fee month between two of
    # them is not compared (one info finding), not "missing" (each code has one severity)
    april, may_e, june = (expected("April 2024", dt.date(2024, 4, 25), service_fee="10"),
                          may(output_fee=False, outputs=(), clawbacks=(), uplift=(0, "0")),
                          expected("June 2024", dt.date(2024, 6, 25), service_fee="10"))
    result = run([april, may_e, june], [dfe_like(april), dfe_like(june)])
    (f,) = result.findings
    assert (f.code, f.severity) == ("STATEMENTS_NOT_COMPARED", Severity.INFO)
    assert "output-fee statements only" in f.message and "May 2024" in f.message
    assert [p.status for p in result.pairs] == [OK, NOT_IN_DFE, OK]


def test_statements_outside_dfes_list_are_not_compared_nor_errors():
    april, may_e, june = (expected("April 2024", dt.date(2024, 4, 25), service_fee="10"),
                          may(),
                          expected("June 2024", dt.date(2024, 6, 25), service_fee="10"))
    result = run([april, may_e, june], [dfe_like(may_e)])
    (f,) = result.findings
    assert f.code == "STATEMENTS_NOT_COMPARED" and f.severity is Severity.INFO
    assert "2 expected statement(s)" in f.message and "April 2024, June 2024" in f.message
    assert [p.status for p in result.pairs] == [NOT_IN_DFE, OK, NOT_IN_DFE]


def test_a_dfe_statement_without_counterpart_is_not_expected():
    e = may()
    other = dfe("June 2024", dt.date(2024, 6, 25), [line("service_fee", "10")], total="12",
                cohort=2022)
    result = run([e], [dfe_like(e), other])
    (f,) = result.findings
    assert (f.code, f.cohort, f.statement) == ("STATEMENT_NOT_EXPECTED", 2022, "June 2024")
    assert result.pairs[0].status == NOT_EXPECTED and result.pairs[0].dfe_total == D("12")


def test_a_statement_listed_twice_by_dfe_is_reported_not_silently_paired():
    e = may()
    result = run([e], [dfe_like(e), dfe_like(e)])
    assert codes(result) == ["STATEMENT_DUPLICATE_IN_DFE"]


def test_api_metadata_without_provider_pairs_in_a_one_provider_cohort_on_dates_only():
    e = may()
    meta = dfe("may 2024", MAY, provider=None, cut_off=dt.date(2024, 4, 30))
    result = run([e], [meta])
    assert result.findings == ()
    pair = result.pairs[0]
    assert pair.status == DATES_ONLY and pair.dfe is meta
    assert result.dfe_json(e.key) is None


def test_dates_that_differ_from_the_calendar():
    e = may()
    meta = dfe("May 2024", dt.date(2024, 5, 24), provider=None, cut_off=dt.date(2024, 4, 29))
    result = run([e], [meta])
    assert codes(result) == ["STATEMENT_DATES_DIFFER", "STATEMENT_DATES_DIFFER"]
    cut_off, payment = result.findings
    assert (cut_off.line, cut_off.expected, cut_off.actual, cut_off.difference) == (
        "cut-off date", "2024-04-30", "2024-04-29", "-1 days")
    assert (payment.line, payment.expected, payment.actual) == (
        "payment date", "2024-05-25", "2024-05-24")


def test_a_dfe_cut_off_after_its_payment_date_is_one_calendar_finding():
    e = may()
    meta = dfe("May 2024", MAY, provider=None, cut_off=dt.date(2024, 12, 31))
    (f,) = run([e], [meta]).findings
    assert (f.code, f.severity, f.expected, f.actual) == (
        "CAL_CUTOFF_AFTER_PAYMENT", Severity.WARNING, "2024-04-30", "2024-12-31")
    same_day = dfe("May 2024", MAY, provider=None, cut_off=MAY)
    (f,) = run([e], [same_day]).findings
    # one code, one severity: a cut-off on the payment day is a code of its own (info)
    assert (f.code, f.severity) == ("CAL_CUTOFF_ON_PAYMENT_DATE", Severity.INFO)


def test_a_faulty_calendar_row_dfe_shares_with_the_calendar_is_left_to_the_rulebook():
    e = may(cut_off=dt.date(2024, 12, 31))  # the calendar row as written (policy keep)
    meta = dfe("May 2024", MAY, provider=None, cut_off=dt.date(2024, 12, 31))
    assert run([e], [meta]).findings == ()


def test_statement_id_pairs_whatever_the_name():
    e = may(statement_id="s-1")
    d = dfe_like(e)._replace(name="Mai 2024", statement_id="s-1")
    assert run([e], [d]).findings == ()


def test_dfe_lines_without_participant_type_compare_the_sums():
    e = may()
    d = dfe_like(e)
    merged = [x for x in d.lines if x.line_type != "output"]
    merged[:0] = [line("output", "1432.80", None, "started", "A", 12, "119.40"),
                  line("output", "358.20", None, "retained-1", "A", 4, "89.55")]
    result = run([e], [d._replace(lines=tuple(merged))])
    assert result.findings == ()
    assert result.pairs[0].lines[0].label == "output all participants started band A"
    assert result.pairs[0].lines[0].expected_count == 12


def test_clawbacks_written_as_positive_amounts_are_deductions():
    e = may()
    d = with_line(dfe_like(e), lambda x: x.line_type == "clawback",
                  line("clawback", "119.40", "ect", "started", "A", 1, "119.40"))
    assert run([e], [d]).findings == ()


def test_differences_within_the_tolerance_are_not_findings():
    e = may()
    d = with_line(dfe_like(e), lambda x: x.line_type == "service_fee",
                  line("service_fee", "1086.20"))
    d = d._replace(total=D("3669.36"), lines=tuple(d.lines))
    assert codes(run([e], [d])) == ["SERVICE_FEE_MISMATCH"]
    assert run([e], [d], tolerance=D("0.01")).findings == ()


def test_an_expected_line_dfe_does_not_have_and_a_dfe_line_we_do_not_expect():
    e = may()
    d = with_line(dfe_like(e, total=False), lambda x: x.participant_type == "mentor",
                  line("output", "117.48", "ect", "started", "B", 1, "117.48"))
    result = run([e], [d])
    assert codes(result) == ["LINE_MISSING_FROM_DFE", "LINE_NOT_EXPECTED", "VAT_MISMATCH"]
    missing = next(f for f in result.findings if f.code == "LINE_MISSING_FROM_DFE")
    assert (missing.line, missing.expected) == ("output mentor started band A", D("238.80"))
    extra = next(f for f in result.findings if f.code == "LINE_NOT_EXPECTED")
    assert (extra.line, extra.actual) == ("output ect started band B", D("117.48"))


def test_clawback_placement_other_cohort_and_before_payment():
    e = may()
    old = expected("June 2024", dt.date(2024, 6, 25), cohort=2022)
    march = expected("March 2024", dt.date(2024, 3, 25))
    attributions = (
        attribution("d1", e.key, "output", "119.40"),
        attribution("d1", old.key, "clawback", "-119.40"),
        attribution("d2", e.key, "output", "119.40"),
        attribution("d2", march.key, "clawback", "-119.40"),
    )
    result = run([e, old, march], [], attributions=attributions)
    placement = sorted((f.code, f.declaration_id) for f in result.findings
                       if f.code.startswith("CLAWBACK"))
    assert placement == [("CLAWBACK_BEFORE_PAYMENT", "d2"), ("CLAWBACK_OTHER_COHORT", "d1")]


def test_clawback_placement_from_the_declarations_dfe_statement_ids():
    e = may(statement_id="may")
    dfe_may = dfe_like(e)
    dfe_old = dfe("June 2023", dt.date(2023, 6, 25), [line("service_fee", "0")], total="0",
                  cohort=2022, statement_id="june-2022")
    decl = Declaration("d9", "p9", "ecf-induction", "ect", "started",
                       dt.datetime(2024, 1, 5, tzinfo=dt.timezone.utc),  # noqa: UP017 (3.10)
                       "clawed-back", 2023,
                       LP, statement_id="may", clawback_statement_id="june-2022",
                       file="decl.csv", row=4)
    result = compare(calculation((e,)), (dfe_may, dfe_old), RULEBOOK, declarations=(decl,))
    placement = [f for f in result.findings if f.code.startswith("CLAWBACK")]
    assert sorted(f.code for f in placement) == ["CLAWBACK_BEFORE_PAYMENT",
                                                 "CLAWBACK_OTHER_COHORT"]
    assert all(f.declaration_id == "d9" and str(f.source) == "decl.csv, row 4"
               for f in placement)


def test_a_clawback_dfe_valued_at_the_fee_first_paid_is_explained():
    # d1 was paid in band B (£117.48) in April; we claw it back from the top band
    # filled in May, band A (£119.40); DfE took back the £117.48 first paid.
    april = expected("April 2024", dt.date(2024, 4, 25))
    e = may()
    attributions = (attribution("d1", april.key, "output", "117.48", band="B"),
                    attribution("d1", e.key, "clawback", "-119.40"))
    d = with_line(dfe_like(e, total=False), lambda x: x.line_type in ("clawback", "vat"), None)
    d = d._replace(lines=(*d.lines, line("clawback", "-117.48", "ect", "started", "B", 1,
                                         "117.48"), line("vat", "611.95")))
    result = run([april, e], [d], attributions=attributions)
    found = [f for f in result.findings if f.code != "STATEMENTS_NOT_COMPARED"]
    assert sorted(f.code for f in found) == ["LINE_MISSING_FROM_DFE", "LINE_NOT_EXPECTED"]
    assert all(f.severity is Severity.WARNING and "fees first paid (-£117.48)" in f.message
               for f in found)
    # warnings only, but DfE's money differs from ours on a line: the money status says so
    assert result.pairs[-1].status == DIFFERS


def test_calculation_findings_on_a_statement_are_surfaced_on_it():
    e = may()
    over = finding("CALC_OVER_CAPACITY", "2 started declarations beyond band C are not paid",
                   lead_provider=LP, cohort=2023, statement="May 2024", line="started")
    result = run([e], [dfe_like(e)], findings=(over,))
    pair = result.pairs[0]
    assert pair.related == (over,) and pair.findings == () and result.findings == ()
    # the money matches: the status says so; the Summary counts the warning beside it
    assert pair.status == OK


def test_dfe_json_block_has_the_expected_shape():
    e = may()
    block = run([e], [dfe_like(e)]).dfe_json(key("May 2024"))
    assert block["output_payments"][0] == {
        "participant_type": "ect", "declaration_type": "started", "band": "A", "count": 10,
        "fee_per_declaration": "119.40", "amount": "1194.00"}
    assert block["clawbacks"][0]["amount"] == "-119.40"
    assert block["uplift"] == {"count": 3, "amount": "300.00"}
    assert block["uplift_clawback"] == {"count": 0, "amount": "0.00"}
    assert (block["service_fee"], block["adjustments"], block["net"], block["vat"],
            block["total"], block["reconcile_amount"]) == (
        "1086.21", "0.00", "3057.81", "611.56", "3669.37", "0.00")


@pytest.mark.parametrize("code", ["CLAWBACK_FEE_MISMATCH", "ADJUSTMENT_MISMATCH",
                                  "STATEMENT_DATES_DIFFER", "STATEMENT_OUTPUT_FEE_DIFFERS",
                                  "STATEMENT_DUPLICATE_IN_DFE", "STATEMENTS_NOT_COMPARED"])
def test_the_codes_this_stage_adds_are_catalogued(code):
    assert CATALOGUE[code].stage == "RECON" and CATALOGUE[code].suggestion


def test_a_clawback_of_another_cohort_the_calculation_reported_is_not_repeated():
    e = may(statement_id="may")
    dfe_old = dfe("June 2023", dt.date(2023, 6, 25), [line("service_fee", "0")], total="0",
                  cohort=2022, statement_id="june-2022")
    decl = Declaration("d9", "p9", "ecf-induction", "ect", "started",
                       dt.datetime(2024, 1, 5, tzinfo=dt.timezone.utc),  # noqa: UP017 (3.10)
                       "clawed-back", 2023, LP, statement_id="may",
                       clawback_statement_id="june-2022")
    calc = finding("CLAWBACK_OTHER_COHORT", "1 declaration(s) of cohort 2023 ...",
                   lead_provider=LP, cohort=2023, statement="June 2023")
    result = compare(calculation((e,), (), (calc,)), (dfe_like(e), dfe_old), RULEBOOK,
                     declarations=(decl,))
    assert sorted(f.code for f in result.findings if f.code.startswith("CLAWBACK")) == [
        "CLAWBACK_BEFORE_PAYMENT"]

