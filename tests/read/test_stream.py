"""CSV and API JSON are streamed: what the user gets must not depend on where chunks fall.

The readers take ``CHUNK_ROWS`` records at a time (and the JSON reader 1 MiB of text
at a time); these tests make both tiny, so every boundary happens in a small file,
and compare with the same file read in one piece. The last test shows that memory
follows the declarations' fields, not the file: a file ten times bigger in columns
the tool does not read costs the reader next to nothing more.
"""

from __future__ import annotations

import json
import tracemalloc

import pytest

from reconcile.errors import InputError
from reconcile.read import apijson, csvfile, read_declarations

HEADER = ("declaration_id,participant_id,course_identifier,declaration_type,declaration_date,"
          "state,cohort,lead_provider")


def _line(n: int, state: str = "paid") -> str:
    return (f"d-{n},p-{n % 4},ecf-induction,started,2023-10-{n % 28 + 1:02d},{state},2023,"
            f"Example Teaching Institute")


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(csvfile, "CHUNK_ROWS", 3)
    monkeypatch.setattr(apijson, "CHUNK_ROWS", 3)
    monkeypatch.setattr(apijson, "_BLOCK", 50)


def _problems(path, vocabulary) -> list[str]:
    with pytest.raises(InputError) as caught:
        read_declarations(path, vocabulary)
    return [str(p) for p in caught.value.problems]


def test_a_csv_read_in_chunks_is_the_csv_read_whole(tmp_path, vocabulary, monkeypatch):
    lines = [HEADER, *(_line(n) for n in range(1, 5)), "", ",,,,,,,", *(_line(n)
                                                                        for n in range(5, 12))]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    whole = read_declarations(path, vocabulary)
    monkeypatch.setattr(csvfile, "CHUNK_ROWS", 3)
    chunked = read_declarations(path, vocabulary)
    assert chunked == whole and len(whole) == 11
    assert [d.row for d in chunked][3:6] == [5, 8, 9]  # the blank records are counted


def test_csv_problems_name_the_same_rows_wherever_the_chunks_fall(tmp_path, vocabulary, tiny):
    lines = [HEADER, *(_line(n, "payed" if n in (4, 9) else "paid") for n in range(1, 12))]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [problem] = _problems(path, vocabulary)
    assert "row 5, column state" in problem and "row 10" in problem
    # a row longer than the header, in the last chunk: reported, nothing converted
    lines.insert(11, _line(40) + ",extra")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [problem] = _problems(path, vocabulary)
    assert "row 12" in problem and "9 values but the header has 8 columns" in problem


def test_a_windows_1252_byte_deep_in_a_csv_is_found_before_reading(tmp_path, vocabulary, tiny,
                                                                    monkeypatch, caplog):
    monkeypatch.setattr(csvfile, "_BLOCK", 64)
    lines = [HEADER, *(_line(n) for n in range(1, 9))]
    lines[7] = lines[7].replace("Example", "Exâmple")
    path = tmp_path / "d.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    declarations = read_declarations(path, vocabulary)
    assert declarations[6].lead_provider == "Exâmple Teaching Institute"
    assert "is not UTF-8; read it as Windows-1252" in caplog.text


def _resource(n: int, **change) -> dict:
    attributes = {"participant_id": f"p-{n % 4}", "declaration_type": "started",
                  "declaration_date": f"2023-10-{n % 28 + 1:02d}T10:00:00Z",
                  "course_identifier": "ecf-induction", "state": "paid",
                  "statement_id": None, "cohort": "2023",
                  "lead_provider_name": "Example Teaching Institute"}
    attributes.update(change)
    return {"id": f"d-{n}", "type": "participant-declaration", "attributes": attributes}


@pytest.mark.parametrize("shape", ["response", "pages", "bare", "compact"])
def test_api_json_read_in_chunks_is_the_json_read_whole(tmp_path, vocabulary, monkeypatch,
                                                         shape):
    records = [_resource(n) for n in range(1, 12)]
    document = ({"meta": {"total": 11}, "data": records, "links": {}} if shape in (
        "response", "compact") else [{"data": records[:5]}, {"data": records[5:]}]
        if shape == "pages" else records)
    path = tmp_path / "d.json"
    path.write_text(json.dumps(document, indent=None if shape == "compact" else 2),
                    encoding="utf-8")
    whole = read_declarations(path, vocabulary)
    monkeypatch.setattr(apijson, "CHUNK_ROWS", 3)
    monkeypatch.setattr(apijson, "_BLOCK", 50)  # records and numbers cut across blocks
    assert read_declarations(path, vocabulary) == whole and len(whole) == 11


def test_json_problems_keep_their_record_line_and_column(tmp_path, vocabulary, tiny):
    records = [_resource(n) for n in range(1, 12)]
    records[4]["attributes"]["declaration_date"] = 20231015  # the 2nd chunk's 2nd record
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"data": records}, indent=2), encoding="utf-8")
    [problem] = _problems(path, vocabulary)
    assert "row 5, column attributes.declaration_date" in problem
    assert "20231015 is not valid here" in problem and "'d-5'" in problem

    text = json.dumps({"data": [_resource(n) for n in range(1, 12)]}, indent=2)
    broken = text.replace('"state": "paid"', '"state": paid', 7)  # the 7th record
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(json.JSONDecodeError) as exact:
        json.loads(broken)
    [problem] = _problems(path, vocabulary)
    assert problem.startswith(f"{path}:{exact.value.lineno}:") or f":{exact.value.lineno}" \
        in problem
    assert f"at column {exact.value.colno}" in problem

    path.write_text(text[: len(text) // 2], encoding="utf-8")  # cut inside a record
    assert "cut short" in _problems(path, vocabulary)[0]


def test_a_late_attribute_the_tool_reads_is_an_error_not_a_silent_loss(tmp_path, vocabulary,
                                                                       tiny):
    records = [_resource(n) for n in range(1, 8)]
    records[5]["attributes"]["sparsity_uplift"] = True  # none of the first chunk has it
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"data": records}), encoding="utf-8")
    [problem] = _problems(path, vocabulary)
    assert "row 6, column sparsity_uplift" in problem and "would not be read" in problem


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_memory_follows_the_declarations_not_the_file(tmp_path, vocabulary, monkeypatch, kind):
    monkeypatch.setattr(csvfile, "CHUNK_ROWS", 200)
    monkeypatch.setattr(apijson, "CHUNK_ROWS", 200)
    monkeypatch.setattr(apijson, "_BLOCK", 1 << 16)  # the JSON text held: about one block
    n, padding = 3000, "x" * 2000  # 6 MB of a column the tool does not read

    def write(path, extra: bool):
        if kind == "csv":
            rows = [HEADER + (",notes" if extra else "")]
            rows += [_line(i) + (f",{padding}{i}" if extra else "") for i in range(n)]
            path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        else:
            records = [_resource(i, **({"notes": f"{padding}{i}"} if extra else {}))
                       for i in range(n)]
            path.write_text(json.dumps({"data": records}), encoding="utf-8")
        return path

    def peak(path) -> int:
        tracemalloc.start()
        try:
            read_declarations(path, vocabulary)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    plain = peak(write(tmp_path / f"plain.{kind}", False))
    padded_file = write(tmp_path / f"padded.{kind}", True)
    padded = peak(padded_file)
    grown = padded_file.stat().st_size - (tmp_path / f"plain.{kind}").stat().st_size
    assert grown > 6_000_000
    # one chunk of the padding at most (200 x 2 KB), never the file's 6 MB
    assert padded - plain < 1_500_000, (plain, padded)
