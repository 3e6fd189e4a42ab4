"""Hostile files are refused before a parser allocates: exit 2, a located message,
nothing written, no traceback (issue 12: xlsx, JSON, YAML guards; dates; did you mean)."""

from __future__ import annotations

import pytest

from reconcile.read.jsonguard import JsonLimits, parse_json
from reconcile.read.sheetscan import scan_sheet
from reconcile.read.table import Limits
from reconcile.model import Source
from reconcile.errors import InputError
from tests.hostile.files import (
    STATEMENTS_JSON,
    api_json,
    assert_refused,
    billion_laughs,
    cli,
    far_cell,
    shared_strings_bomb,
)

# --------------------------------------------------------------------------- xlsx


def test_shared_strings_count_of_four_billion_is_refused_before_calamine_reads_it(tmp_path):
    out = tmp_path / "out.json"
    result = cli("expected", "--declarations", shared_strings_bomb(tmp_path / "d.xlsx"),
                 "--json", out)
    assert_refused(result, "d.xlsx", "4,294,967,295", outputs=(out,))


@pytest.mark.parametrize("reference, dimension, says", [
    ("XFD1048576", False, "16,384 columns"),      # no <dimension>: the scan finds it
    ("XFD1048576", True, "16,384 columns"),       # <dimension> says A1:S7, and lies
    ("A4294967296", False, "4,294,967,296 rows"),  # beyond Excel, within calamine's u32
    ("zz9", False, "702 columns"),                 # lower-case letters are read too
])
def test_a_cell_far_from_the_data_is_refused_by_the_scan(tmp_path, reference, dimension, says):
    out = tmp_path / "out.json"
    book = far_cell(tmp_path / "d.xlsx", reference, dimension=dimension)
    result = cli("expected", "--declarations", book, "--json", out)
    assert_refused(result, "d.xlsx, sheet Declarations", says, outputs=(out,))


@pytest.mark.parametrize("tag", [
    '<c r = "XFD7"><v>1</v></c>',             # spaces around '='
    "<c r='XFD7'><v>1</v></c>",               # single quotes
    '<c s="0" r="XFD7"><v>1</v></c>',         # r not first
    '<x:c xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'r="XFD7"><x:v>1</x:v></x:c>',            # a namespace prefix
])
def test_unusual_spellings_of_a_far_cell_are_counted_exactly(tmp_path, tag):
    out = tmp_path / "out.json"
    book = far_cell(tmp_path / "d.xlsx", "XFD7", cell_tag=tag)
    assert_refused(cli("expected", "--declarations", book, "--json", out),
                   "16,384 columns", outputs=(out,))


def test_cells_without_a_reference_are_placed_as_calamine_places_them():
    # a row at 7 whose cells carry no r: the third is in column C; then two rows on
    xml = (b'<sheetData><row r="7"><c><v>1</v></c><c/><c><v>3</v></c></row>'
           b"<row><c/></row><row></row><row><c/></row></sheetData>")
    limits = Limits(max_rows=8, max_columns=3)
    with pytest.raises(InputError, match="has 10 rows"):
        scan_sheet([xml], Source("x.xlsx", "S"), limits, rescan=lambda: [xml])
    assert scan_sheet([xml], Source("x.xlsx", "S"), Limits(max_rows=9, max_columns=3),
                      rescan=lambda: [xml]) == []


def test_a_sheet_whose_extent_is_over_the_cell_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("RECONCILE_MAX_CELLS", "1000")
    out = tmp_path / "out.json"
    book = far_cell(tmp_path / "d.xlsx", "GR100")  # 100 rows x 200 columns
    assert_refused(cli("expected", "--declarations", book, "--json", out),
                   "100 rows by 200 columns (20,000 cells)", "RECONCILE_MAX_CELLS",
                   outputs=(out,))


# --------------------------------------------------------------------------- JSON


def _first(document: dict) -> dict:
    return document["data"][0]["attributes"]


def test_json_nested_100000_deep_is_refused_with_its_line(tmp_path):
    out = tmp_path / "out.json"
    deep = api_json(tmp_path / "d-cohort2023.json",
                    text=lambda t: t[:-1] + ', "x":\n' + "[" * 100_000 + "]" * 100_000 + "}")
    assert_refused(cli("expected", "--declarations", deep, "--json", out),
                   "d-cohort2023.json:2", "nested more than 64 levels", outputs=(out,))


def test_json_integer_of_5000_digits_in_an_unknown_attribute_is_refused(tmp_path):
    out = tmp_path / "out.json"
    big = api_json(tmp_path / "d-cohort2023.json",
                   text=lambda t: t.replace('"attributes": {', '"attributes": {"junk": '
                                            + "9" * 5000 + ", ", 1))
    assert_refused(cli("expected", "--declarations", big, "--json", out),
                   "a number of 5,000 characters", "line 1, column", outputs=(out,))


def test_json_duplicate_key_is_refused_naming_the_key_and_the_object(tmp_path):
    out = tmp_path / "out.json"
    twice = api_json(tmp_path / "d-cohort2023.json",
                     text=lambda t: t.replace('"attributes": {',
                                              '"attributes": {"state": "voided", ', 1))
    assert_refused(cli("expected", "--declarations", twice, "--json", out),
                   "the key 'state' appears twice in the same object",
                   "the object starts at line 1, column", outputs=(out,))


def test_json_nested_65_deep_inside_a_record_is_refused_by_the_streaming_reader(tmp_path):
    # deep enough for the limit, not for the interpreter: found by the check after decoding
    out = tmp_path / "out.json"
    deep = api_json(tmp_path / "d-cohort2023.json",
                    text=lambda t: t.replace('"attributes": {',
                                             '"attributes": {"x": ' + "[" * 65 + "]" * 65 + ", ", 1))
    assert_refused(cli("expected", "--declarations", deep, "--json", out),
                   "nested more than 64 levels", "line 1, column", outputs=(out,))


def test_json_duplicate_top_level_key_is_refused_by_the_streaming_reader(tmp_path):
    out = tmp_path / "out.json"
    twice = api_json(tmp_path / "d-cohort2023.json",
                     text=lambda t: t[:-1] + ',\n "data": []}')
    assert_refused(cli("expected", "--declarations", twice, "--json", out),
                   "d-cohort2023.json:2", "the key 'data' appears twice", outputs=(out,))


@pytest.mark.parametrize("text, says", [
    ('{"a": NaN}', "NaN is not a JSON number"),
    ('{"a": -Infinity}', "-Infinity is not a JSON number"),
    ('{"a": 1e999}', "too large"),
    ('{"a": {"b": 1, "b": 1}}', "the key 'b' appears twice"),
    ('[' * 65 + ']' * 65, "nested more than 64 levels"),
])
def test_json_guard_refusals(text, says):
    with pytest.raises(InputError, match=says):
        parse_json(text, "x.json")


def test_json_guard_accepts_brackets_inside_strings_and_the_limit_exactly():
    assert parse_json('{"a": "[[[[{{{"}', "x.json") == {"a": "[[[[{{{"}
    nested = "[" * 64 + "]" * 64
    assert parse_json(nested, "x.json", limits=JsonLimits(max_depth=64)) is not None


def test_statements_json_is_guarded_too(tmp_path):
    out = tmp_path / "out.xlsx"
    text = STATEMENTS_JSON.read_text(encoding="utf-8").replace('"data"', '"data": [], "data"', 1)
    bad = tmp_path / "statements.json"
    bad.write_text(text, encoding="utf-8")
    result = cli("run", "--declarations", api_json(tmp_path / "d-cohort2023.json"),
                 "--dfe-statements", bad, "--out", out)
    assert_refused(result, "statements.json:", "the key 'data' appears twice", outputs=(out,))


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize("field, value", [
    ("declaration_date", "9999-12-31T23:59:59-01:00"),   # the year 10000 in UTC
    ("created_at", "0001-01-01T00:00:00+01:00"),          # the year 0 in UTC
    ("updated_at", "9999-12-31T23:30:00-00:45"),
])
def test_dates_that_overflow_in_utc_are_located_input_errors(tmp_path, field, value):
    out = tmp_path / "out.json"
    bad = api_json(tmp_path / "d-cohort2023.json",
                   lambda d: _first(d).__setitem__(field, value))
    assert_refused(cli("expected", "--declarations", bad, "--json", out),
                   f"row 1, column {field}", "outside the dates this tool can read",
                   outputs=(out,))


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
def test_the_extreme_dates_that_can_be_read_run_through(tmp_path, value):
    def edit(document):
        for record in document["data"]:
            for field in ("declaration_date", "created_at", "updated_at"):
                record["attributes"][field] = value

    out = tmp_path / "out.xlsx"
    result = cli("run", "--declarations", api_json(tmp_path / "d-cohort2023.json", edit),
                 "--dfe-statements", STATEMENTS_JSON, "--out", out, "-q")
    assert result.exit_code in (0, 1), result.stderr
    assert out.exists()


# --------------------------------------------------------------------------- YAML


def _rules_check(tmp_path, text: str):
    contract = tmp_path / "contract.yaml"
    contract.write_text(text, encoding="utf-8")
    return cli("rules", "check", "--contracts", contract)


def test_billion_laughs_is_refused_before_anything_is_built(tmp_path, monkeypatch):
    # 9^10 values once expanded; measured on the composed nodes (an alias is the same
    # node again), so the refusal costs microseconds and no value is ever built
    from reconcile.errors import RuleError
    from reconcile.rulebook import yamlsrc

    text = billion_laughs()
    assert len(text) < 1024

    def never(*args, **kwargs):
        raise AssertionError("the document was built")

    with monkeypatch.context() as patch:
        patch.setattr(yamlsrc, "_build", never)
        with pytest.raises(RuleError, match="expand to more than 200,000 values"):
            yamlsrc.parse_yaml(text, "bomb.yaml")
    assert_refused(_rules_check(tmp_path, text), "contract.yaml:", "expand to more than")


@pytest.mark.parametrize("text, says", [
    ("lead_provider: &x [*x]\n", "contract.yaml:1: an alias here refers to the anchor it is inside"),
    ("? !!set {a: null}\n: 1\n", "contract.yaml:1: a key must be a plain word"),
    ("? [a, b]\n: 1\n", "contract.yaml:1: a key must be a plain word"),
    ('lead_provider: "Bad\\x01Name"\ncohort: 2023\n', "contract.yaml:1: the text holds characters"),
    ("a: " + "[" * 60 + "]" * 60 + "\n", "nested more than 50 levels"),
    # an integer of 5,000 digits (Python refuses to read more than 4,300): said short
    ("recruitment_target: " + "9" * 5000 + "\n",
     "contract.yaml:1: a number of 5,000 characters (999999999999...), far beyond"),
])
def test_hostile_yaml_is_a_located_rule_error(tmp_path, text, says):
    result = _rules_check(tmp_path, text)
    assert_refused(result, says)
    assert len(result.stderr) < 1000, "the message repeats the hostile value"


# --------------------------------------------------------------------------- did you mean


def test_three_thousand_distinct_misspelt_states_are_compared_once_each_and_long_ones_not(
        tmp_path):
    import random
    import string

    from reconcile.read import values

    random.seed(12)
    header = "declaration_id,participant_id,course_identifier,declaration_type," \
             "declaration_date,state,cohort,lead_provider\n"
    states = ["".join(random.choice(string.ascii_lowercase) for _ in range(length))
              for length in [6, 9, 30, 300] * 750]
    rows = [f"d{i},p{i},ecf-induction,started,2023-10-02,{state},2023,"
            "Example Teaching Institute\n" for i, state in enumerate(states * 2)]
    data = tmp_path / "declarations.csv"
    data.write_text(header + "".join(rows), encoding="utf-8")
    out = tmp_path / "out.json"
    values._closest.cache_clear()
    result = cli("expected", "--declarations", data, "--json", out)
    assert_refused(result, "column state", "is not a declaration state", outputs=(out,))
    # a 300-letter value is quoted by its start and length, not whole
    assert "... (300 characters)" in result.stderr and len(result.stderr) < 1500
    # every distinct value compared once (each appears twice); the
    # 300-letter ones, longer than twice the longest state and two, never
    longest = len("awaiting-clawback")
    comparable = {s for s in states if len(s) <= 2 * longest + 2}
    assert values._closest.cache_info().misses == len(comparable) == 2250
