"""Several declaration inputs: repeated --declarations, folders, the same declaration twice."""

from __future__ import annotations

import json

from click.testing import CliRunner

from reconcile.cli import main
from reconcile.inputfiles import DECLARATIONS, expand_inputs, identify_file
from reconcile.paths import bundled_rules_dir
from reconcile.read.inputs import read_inputs
from reconcile.rulebook.load import load_rulebook
from tests.read.conftest import write_csv
from tests.rulebook.helpers import edit

HEADER = ("declaration_id | participant_id | course_identifier | declaration_type | "
          "declaration_date | state | cohort | lead_provider | created_at | updated_at | "
          "statement_name | clawback_statement_name | schedule_identifier")
LP = "Example Teaching Institute"


def _row(did, pid, dtype, date, state, created, updated="", statement="", claw=""):
    return (f"{did} | {pid} | ecf-induction | {dtype} | {date} | {state} | 2023 | {LP} | "
            f"{created} | {updated} | {statement} | {claw} | ecf-standard-september")


def _files(tmp_path):
    a = write_csv(tmp_path / "a.csv", "\n".join([
        HEADER,
        _row("d-1", "p-1", "started", "2023-10-02", "paid", "2023-10-03T09:00:00Z",
             "2023-12-01T00:00:00Z", "November 2023"),
        _row("d-2", "p-2", "started", "2023-10-05", "paid", "2023-10-06T09:00:00Z",
             "2023-12-01T00:00:00Z", "November 2023")]))
    b = write_csv(tmp_path / "b.csv", "\n".join([
        HEADER,
        # d-1 again, identical: one declaration
        _row("d-1", "p-1", "started", "2023-10-02", "paid", "2023-10-03T09:00:00Z",
             "2023-12-01T00:00:00Z", "November 2023"),
        # d-2 clawed back since: DfE changed it later, so this copy wins
        _row("d-2", "p-2", "started", "2023-10-05", "awaiting-clawback", "2023-10-06T09:00:00Z",
             "2024-02-10T00:00:00Z", "November 2023", "April 2024"),
        _row("d-3", "p-3", "started", "2023-11-01", "eligible", "2023-11-02T09:00:00Z")]))
    return a, b


def test_two_files_give_their_union_and_the_later_copy_wins(tmp_path, vocabulary):
    a, b = _files(tmp_path)
    result = read_inputs([a, b], (), vocabulary)
    by_id = {d.declaration_id: d for d in result.declarations}
    assert sorted(by_id) == ["d-1", "d-2", "d-3"]
    assert by_id["d-2"].state == "awaiting-clawback"
    assert by_id["d-2"].clawback_statement_name == "April 2024"
    # (the test's files have no uplift flag columns: that is said too)
    (differs,) = [f for f in result.findings if f.code == "READ_SAME_DECLARATION_DIFFERS"]
    assert differs.code == "READ_SAME_DECLARATION_DIFFERS"
    assert differs.severity.value == "info"
    assert differs.declaration_ids == ("d-2",)
    assert "a.csv" in differs.message and "b.csv" in differs.message
    assert "awaiting-clawback" in differs.message and "state" in differs.message
    assert [f.path for f in result.files] == [str(a), str(b)]
    assert result.files[0].sha256 == identify_file(a).sha256


def test_the_older_copy_wins_when_dfe_changed_it_last(tmp_path, vocabulary):
    a, b = _files(tmp_path)
    # the same files given the other way round: b's d-2 is still the later update
    result = read_inputs([b, a], (), vocabulary)
    assert {d.declaration_id: d.state for d in result.declarations}["d-2"] == \
        "awaiting-clawback"


def test_assurance_reports_of_two_statements_make_one_clawed_back_declaration(
        tmp_path, vocabulary):
    header = ("Participant ID,Type,Declaration ID,Declaration Status,Declaration Type,"
              "Declaration Date,Declaration Created At,Statement Name,Statement ID")
    paid = tmp_path / "ECF-Declarations-ExampleTeachingInstitute-Cohort2023-November2023.csv"
    paid.write_text(header + "\np-1,ParticipantProfile::ECT,d-1,paid,started,"
                    "2023-10-02T10:00:00Z,2023-10-03T09:00:00Z,November 2023,s-nov\n")
    claw = tmp_path / "ECF-Declarations-ExampleTeachingInstitute-Cohort2023-April2024.csv"
    claw.write_text(header + "\np-1,ParticipantProfile::ECT,d-1,clawed_back,started,"
                    "2023-10-02T10:00:00Z,2023-10-03T09:00:00Z,April 2024,s-apr\n")
    result = read_inputs(expand_inputs([tmp_path], DECLARATIONS), (), vocabulary)
    (declaration,) = result.declarations
    assert (declaration.state, declaration.statement_id, declaration.clawback_statement_id,
            declaration.cohort) == ("clawed-back", "s-nov", "s-apr", 2023)
    # the report's Schedule and flag columns were left out of this one: said, not assumed
    assert [f.code for f in result.findings] == ["READ_SCHEDULE_NOT_GIVEN",
                                                 "READ_UPLIFT_FLAGS_NOT_GIVEN"]


def test_a_folder_is_every_input_in_it_in_name_order(tmp_path):
    (tmp_path / "b.json").write_text("{}")
    (tmp_path / "a.csv").write_text("x")
    (tmp_path / "~$a.xlsx").write_text("lock file of Excel")
    (tmp_path / ".hidden.csv").write_text("x")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    assert [p.name for p in expand_inputs([tmp_path], DECLARATIONS)] == ["a.csv", "b.json"]
    # a file named again beside its folder is read once
    assert len(expand_inputs([tmp_path, tmp_path / "a.csv"], DECLARATIONS)) == 2


def test_cli_repeated_declarations_and_a_folder(tmp_path):
    a, b = _files(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    runner = CliRunner()
    common = ["--contracts", str(bundled_rules_dir() / "contracts"), "--as-of", "2024-06-01", "--json"]
    two = runner.invoke(main, ["expected", "--declarations", str(a), "--declarations", str(b),
                               *common, str(out / "two.json")])
    assert two.exit_code in (0, 1), two.output
    folder = runner.invoke(main, ["expected", "--declarations", str(tmp_path), *common,
                                  str(out / "folder.json")])
    assert folder.exit_code in (0, 1), folder.output
    one = runner.invoke(main, ["expected", "--declarations", str(a), *common,
                               str(out / "one.json")])
    two_json, folder_json, one_json = (json.loads((out / f"{n}.json").read_text())
                                       for n in ("two", "folder", "one"))
    assert two_json["statements"] == folder_json["statements"]

    def started(data):
        return {s["name"]: sum(line["count"] for line in s["expected"]["output_payments"])
                for s in data["statements"]}

    # a alone: d-1 and d-2 paid on November 2023; with b: d-3 (January 2024) as well,
    # and d-2 is clawed back on April 2024
    assert started(one_json)["November 2023"] == 2
    assert started(two_json)["November 2023"] == 2
    assert started(two_json)["January 2024"] == 1
    april = next(s for s in two_json["statements"] if s["name"] == "April 2024")
    assert sum(line["count"] for line in april["expected"]["clawbacks"]) == 1
    assert one.exit_code in (0, 1)


def test_cli_names_every_missing_input_and_writes_nothing(tmp_path):
    a, _ = _files(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, [
        "expected", "--declarations", str(a), "--declarations", str(tmp_path / "nope.csv"),
        "--declarations", str(empty), "--json", str(out)])
    assert result.exit_code == 2
    assert "nope.csv" in result.output and "not found" in result.output
    assert "empty" in result.output and "holds no declarations file" in result.output
    assert not out.exists()


def test_two_pulls_of_dfes_statements_list_count_each_statement_once(tmp_path, vocabulary):
    """Last month's pull of Northbrook's statements list (the bundled sample's, with the
    three August 2026 statements still unpaid and updated 2026-05-01) and this month's
    (paid, updated 2026-08-25): each statement once, the copy DfE updated last used,
    whichever file is given first, and one info finding naming both files. Before, the
    three were kept twice and each reported as STATEMENT_DUPLICATE_IN_DFE (an error)."""
    from samples import SAMPLES_DIR

    new = SAMPLES_DIR / "api" / "northbrook-teaching-institute" / "statements.json"
    pull = json.loads(new.read_text())
    august = [s for s in pull["data"] if (s["attributes"]["month"], s["attributes"]["year"])
              == ("August", "2026")]
    assert len(august) == 3 and all(s["attributes"]["paid"] for s in august)
    for s in august:
        s["attributes"].update(paid=False, updated_at="2026-05-01T02:00:00Z")
    old = tmp_path / "statements-2026-07.json"
    old.write_text(json.dumps(pull))
    for order in ((old, new), (new, old)):
        result = read_inputs([SAMPLES_DIR / "declarations.xlsx"], list(order), vocabulary)
        assert len(result.dfe_statements) == len(pull["data"])
        assert all(s.paid for s in result.dfe_statements if s.name == "August 2026")
        (differs,) = [f for f in result.findings if f.code == "READ_SAME_STATEMENT_DIFFERS"]
        assert differs.severity.value == "info"
        assert differs.message.startswith(f"3 DfE statements are in both {min(map(str, order))} "
                                          f"and {max(map(str, order))}")
        assert (f"August 2026 (cohort 2023): paid true in {new} was used, not false in {old}"
                in differs.message)


def test_the_assurance_reports_clawback_pair_is_the_vocabularys(tmp_path, rules_copy):
    """rules/vocabulary.yaml's assurance_report says which rows are a clawback pair: with
    clawed-back taken out of refund_states, the two reports' rows of d-1 are two copies
    of a declaration that differ (the later file's kept, with a finding), not one
    clawed-back declaration."""
    header = ("Participant ID,Type,Declaration ID,Declaration Status,Declaration Type,"
              "Declaration Date,Declaration Created At,Statement Name,Statement ID")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "ECF-Declarations-ExampleTeachingInstitute-Cohort2023-November2023.csv"
     ).write_text(header + "\np-1,ParticipantProfile::ECT,d-1,paid,started,"
                  "2023-10-02T10:00:00Z,2023-10-03T09:00:00Z,November 2023,s-nov\n")
    (reports / "ECF-Declarations-ExampleTeachingInstitute-Cohort2023-April2024.csv"
     ).write_text(header + "\np-1,ParticipantProfile::ECT,d-1,clawed_back,started,"
                  "2023-10-02T10:00:00Z,2023-10-03T09:00:00Z,April 2024,s-apr\n")
    files = expand_inputs([reports], DECLARATIONS)  # April 2024's report first (name order)

    def read() -> tuple[tuple[str, str | None, str | None], list[str]]:
        result = read_inputs(files, (), load_rulebook(rules_copy).vocabulary)
        (d,) = result.declarations
        return ((d.state, d.statement_id, d.clawback_statement_id),
                [f.code for f in result.findings if f.code.startswith("READ_SAME")])

    assert read() == (("clawed-back", "s-nov", "s-apr"), [])
    edit(rules_copy / "vocabulary.yaml", "refund_states: [awaiting-clawback, clawed-back]",
         "refund_states: [awaiting-clawback]")
    # no pair: November's paid copy is the later file's, and the difference is said
    assert read() == (("paid", "s-nov", None), ["READ_SAME_DECLARATION_DIFFERS"])
