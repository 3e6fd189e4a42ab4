"""The sample generator: deterministic, realistic, and read back by the real reader.

These tests build small data sets (a few hundred declarations) without the DfE
side, so they need only the rulebook and the declarations reader.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from reconcile.read.inputs import read_inputs
from reconcile.read import read_declarations
from reconcile.rulebook.load import load_rulebook
from samples import generate as gen

N = 600
SEED = 11
BILLABLE = ("eligible", "payable", "paid")
REFUNDABLE = ("awaiting-clawback", "clawed-back")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    result = gen.generate(out, N, SEED, csv_file=True, api_json=True, dfe=False)
    return out, result


@pytest.fixture(scope="module")
def rulebook(sample):
    out, _ = sample
    return load_rulebook(None, (out / "contracts",))


@pytest.fixture(scope="module")
def declarations(sample, rulebook):
    out, _ = sample
    return read_declarations(out / "declarations.xlsx", rulebook.vocabulary)


def test_same_seed_gives_byte_identical_files(sample, tmp_path):
    out, _ = sample
    again = tmp_path / "again"
    gen.generate(again, N, SEED, csv_file=True, api_json=True, dfe=False)
    first, second = _files(out), _files(again)
    assert sorted(first) == sorted(second)
    assert "declarations.xlsx" in first and "contracts/harbour-lane-education-trust-2024.yaml" in first
    for name in first:
        assert first[name] == second[name], f"{name} differs between two runs of one seed"


def test_another_seed_gives_other_declarations(sample, tmp_path):
    out, _ = sample
    gen.generate(tmp_path, N, SEED + 1, dfe=False)
    assert (tmp_path / "declarations.xlsx").read_bytes() != (out / "declarations.xlsx").read_bytes()


def test_exactly_n_declarations_in_every_format(sample, rulebook, declarations):
    out, result = sample
    assert result.declarations == N == len(declarations)
    from_csv = read_declarations(out / "declarations.csv", rulebook.vocabulary)
    assert [d.declaration_id for d in from_csv] == [d.declaration_id for d in declarations]
    # each provider's v3 API pull: declarations pages (no cohort, no schedule), its
    # participants and its statements list
    api = out / "api"
    from_api = read_inputs(sorted(api.rglob("participant-declarations-*.json")),
                           sorted(api.rglob("statements.json")), rulebook.vocabulary,
                           participants=sorted(api.rglob("participants-ecf-*.json")),
                           calendar=rulebook.calendar)
    assert sorted((d.declaration_id, d.state, d.cohort, d.schedule_identifier)
                  for d in from_api.declarations) == sorted(
        (d.declaration_id, d.state, d.cohort, d.schedule_identifier) for d in declarations)
    assert [f.code for f in from_api.findings] == []


def test_counts_by_type_and_state_read_back_as_generated(sample, declarations):
    _, result = sample
    read_back = Counter((d.declaration_type, d.state) for d in declarations)
    assert read_back == Counter(result.counts)
    states = Counter(d.state for d in declarations)
    # the sample is as at 2026-10-10: paid statements, an unpaid payable one (October
    # 2026, cut-off 30 September) and open ones all occur, and so do voids and clawbacks
    for state in ("paid", "payable", "eligible", "voided", "clawed-back"):
        assert states[state] > 0, state
    assert states["paid"] > N / 2


def test_every_declaration_is_on_its_next_output_fee_statement(declarations, rulebook):
    """DOMAIN.md "Statement": the first output-fee statement whose cut-off is on or
    after the day it was submitted (created_at), in the declaration's cohort."""
    checked = 0
    for d in declarations:
        if d.state not in BILLABLE + REFUNDABLE:
            assert d.statement_name is None
            continue
        calendar = [s for s in rulebook.calendar[d.cohort] if s.output_fee]
        day = d.created_at.date()
        expected = next(s for s in calendar if s.cut_off_date >= day)
        assert d.statement_name == expected.name, d.declaration_id
        assert d.statement_id == gen.statement_id(d.lead_provider, d.cohort, expected.name)
        checked += 1
    assert checked > N * 0.9


def test_states_follow_their_statements_as_at_the_sample_date(declarations, rulebook):
    paydays = {(s.cohort, s.name): s for c in rulebook.calendar.values() for s in c}
    for d in declarations:
        if d.state in BILLABLE:
            statement = paydays[(d.cohort, d.statement_name)]
            paid = statement.payment_date <= gen.AS_OF
            assert (d.state == "paid") == paid, d.declaration_id
        if d.state in REFUNDABLE:
            paid_on = paydays[(d.cohort, d.statement_name)]
            claw = paydays[(d.cohort, d.clawback_statement_name)]
            assert claw.output_fee and claw.payment_date > paid_on.payment_date
            assert paid_on.payment_date <= gen.AS_OF  # only a paid declaration is clawed back
            assert (d.state == "clawed-back") == (claw.payment_date <= gen.AS_OF)


def test_dates_fall_in_their_milestone_windows_except_the_planted_ones(sample, declarations,
                                                                       rulebook):
    _, result = sample
    outside = {a["declaration_id"] for a in result.anomalies
               if a["kind"] in ("before_start", "after_cutoff")}
    for d in declarations:
        milestone = rulebook.schedules[(d.schedule_identifier, d.cohort)].milestones[
            d.declaration_type]
        day = d.declaration_date.date()
        inside = milestone.start_date <= day and (
            milestone.milestone_date is None or day <= milestone.milestone_date)
        assert inside != (d.declaration_id in outside), d.declaration_id
        assert d.created_at >= d.declaration_date
        assert d.created_at.date() <= gen.AS_OF


def test_participants_and_cohorts_look_like_the_programme(declarations):
    cohorts = Counter(d.cohort for d in declarations)
    assert set(cohorts) == {2022, 2023, 2024, 2025}
    assert {d.lead_provider for d in declarations} == {p.name for p in gen.PROVIDERS}
    for d in declarations:
        if d.cohort >= 2025:
            # no uplift from 2025; flat-rate mentors declare started and completed only
            assert not (d.pupil_premium_uplift or d.sparsity_uplift)
            if d.participant_type == "mentor":
                assert d.declaration_type in ("started", "completed")
        if d.participant_type == "mentor":
            assert not d.declaration_type.startswith("extended")
    assert any(d.pupil_premium_uplift or d.sparsity_uplift for d in declarations)
    assert any(d.delivery_partner_id is None for d in declarations)
    assert len({d.delivery_partner_id for d in declarations}) > 5
    # every participant starts with a started declaration, but for the few whose records
    # DfE merged: the provider's records hold the retired id on the first declarations
    from samples.dfe_shapes import People

    people = People(SEED, gen.NAMESPACE, {})
    first: dict[str, str] = {}
    for d in declarations:
        first.setdefault(d.participant_id, d.declaration_type)
    later = {pid for pid, kind in first.items() if kind != "started"}
    assert all(people.retired_id(pid) is not None for pid in later)
    assert len(later) < len(first) / 50 and len(first) > N / 6


def test_contracts_load_and_one_is_over_capacity(sample, rulebook, declarations):
    _, result = sample
    assert len(result.contracts) == 8
    banded_starts = Counter(
        (d.lead_provider, d.cohort) for d in declarations
        if d.declaration_type == "started" and d.state in BILLABLE + REFUNDABLE
        and (d.participant_type == "ect" or d.cohort < gen.FLAT_RATE_FROM))
    for provider in gen.PROVIDERS:
        for cohort in gen.COHORTS:
            contract = rulebook.contracts[(provider.name, cohort)]
            last = contract.bands[-1].max
            if (provider.name, cohort) == gen.OVER_CAPACITY:
                assert banded_starts[(provider.name, cohort)] > last
            else:
                assert banded_starts[(provider.name, cohort)] <= last
            assert (contract.uplift_amount is None) == (cohort >= 2025)
            assert (contract.mentor is not None) == (cohort >= 2025)


def test_clean_data_has_no_anomalies(tmp_path):
    result = gen.generate(tmp_path, N, SEED, anomalies=False, dfe=False)
    assert result.anomalies == ()


def test_cli_writes_the_requested_files(tmp_path):
    assert gen.main(["--out", str(tmp_path), "--declarations", "50", "--seed", "3",
                     "--no-dfe", "--csv", "--quiet"]) == 0
    assert (tmp_path / "declarations.xlsx").is_file()
    assert (tmp_path / "declarations.csv").read_text().count("\n") == 51
    assert not (tmp_path / "dfe-statements.xlsx").exists()


def test_attachment_skips_non_output_statements():
    """Hand-made calendar: a declaration submitted on 2024-05-01 skips the non-output
    May statement and lands on the June one (cut-off 2024-06-30)."""
    reference = gen.Reference(
        calendars={2023: (gen.CalendarRow("May 2024", dt.date(2024, 4, 30), dt.date(2024, 5, 25),
                                          True),
                          gen.CalendarRow("June 2024", dt.date(2024, 5, 31),
                                          dt.date(2024, 6, 25), False),
                          gen.CalendarRow("July 2024", dt.date(2024, 6, 30),
                                          dt.date(2024, 7, 25), True))},
        schedules={}, declaration_types=(), source="test")
    attacher = gen._Attacher(reference, "LP", 2023)
    assert attacher.next_after(dt.date(2024, 4, 30)).name == "May 2024"
    assert attacher.next_after(dt.date(2024, 5, 1)).name == "July 2024"
    assert attacher.next_after(dt.date(2024, 7, 1)) is None
    # a clawback goes to a statement paid after the original payment
    assert attacher.next_after(dt.date(2024, 4, 1), paid_after=dt.date(2024, 5, 25)).name == \
        "July 2024"


def test_more_declarations_than_an_xlsx_sheet_holds_are_written_as_csv_or_refused(
        tmp_path, monkeypatch, capsys):
    from reconcile import continuation

    # the real limit: Excel's rows less the header (XlsxWriter would drop the rest silently)
    assert gen.XLSX_DATA_ROWS == continuation.MAX_ROWS - 1 == 1_048_575
    monkeypatch.setattr(gen, "XLSX_DATA_ROWS", 40)
    with pytest.raises(SystemExit) as exit_:
        gen.main(["--out", str(tmp_path / "refused"), "--declarations", "41", "--no-dfe", "-q"])
    assert exit_.value.code == 2
    assert "41 declarations do not fit one xlsx sheet" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()

    result = gen.generate(tmp_path / "csv", 41, SEED, csv_file=True, dfe=False)
    assert [p.name for p in result.files[:1]] == ["declarations.csv"]
    assert not (tmp_path / "csv" / "declarations.xlsx").exists()
    assert "declarations.xlsx is not written, only declarations.csv" in capsys.readouterr().err
    assert len((tmp_path / "csv" / "declarations.csv").read_text().splitlines()) == 42


def test_a_national_sample_has_as_many_providers_as_asked(tmp_path):
    assert gen.providers(2) == gen.PROVIDERS
    specs = gen.providers(20)
    assert len({p.name for p in specs}) == 20 and specs[:2] == tuple(
        p._replace(share=specs[i].share) for i, p in enumerate(gen.PROVIDERS))
    assert sum(p.share for p in specs) == pytest.approx(1.0)
    assert specs[0].share / specs[1].share == pytest.approx(0.62 / 0.38)
    result = gen.generate(tmp_path, 2000, SEED, dfe=False, lead_providers=20)
    rulebook = load_rulebook(None, (tmp_path / "contracts",))
    declarations = read_declarations(tmp_path / "declarations.xlsx", rulebook.vocabulary)
    assert {d.lead_provider for d in declarations} == {p.name for p in specs}
    assert len(result.contracts) == 20 * 4
