"""labeler.io: round trips, encodings, delimiters, column guesses and a corpus of bad inputs.

Every input is built here (bytes or files under tmp_path); nothing is read from shared data.
"""

from __future__ import annotations

import codecs
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openpyxl
import pandas as pd
import pytest

from labeler.errors import InputError
from labeler.io.columns import ColumnGuess, detect_columns
from labeler.io.formats import SUPPORTED, guess_format
from labeler.io.prepare import PreparedItems, prepare_items
from labeler.io.read import read_table
from labeler.io.write import EXCEL_CELL_LIMIT, to_bytes, write_table

FORMATS = ["csv", "tsv", "xlsx", "jsonl", "parquet"]

TEXTS = [
    "Vote today! 🗳️🇺🇸 #election @user",
    "مرحبا بالعالم — שלום עולם",  # right-to-left scripts
    'He said "no", then left, again',  # quotes and commas
    "line one\nline two\n\nline four",  # line breaks inside a cell
    "tab\tinside; and | pipes",
    "<img src=x onerror=alert(1)><script>alert('x')</script>",  # text is data
    "=SUM(A1:A2) looks like a formula",
    "  café naïve “curly” ‘quotes’  ",  # surrounding spaces are kept: import/export is exact
]
IDS = ["007", "42", "1234567890123456789", "0", "a-1", "x_2", "0007", "9" * 19]
LABELS = ["FAVOR", "", "AGAINST", "NONE", "None", "", "NA", "FAVOR"]


def sample_frame() -> pd.DataFrame:
    return pd.DataFrame({"id": IDS, "text": TEXTS, "label": LABELS})


def prepare(df: pd.DataFrame, **kw: Any) -> PreparedItems:
    guess = detect_columns(df)
    args = {"text_col": guess.text, "id_col": guess.id, "label_col": guess.label}
    args.update(kw)
    return prepare_items(df, **args)


def error_of(fn: Callable[[], Any]) -> str:
    with pytest.raises(InputError) as info:
        fn()
    return str(info.value)


# ---------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", FORMATS + ["json"])
def test_round_trip_keeps_texts_ids_and_labels(fmt: str, tmp_path) -> None:
    df = sample_frame()
    read_back = read_table(to_bytes(df, fmt), f"tweets.{fmt}")
    assert list(read_back.columns) == ["id", "text", "label"]
    assert all(type(v) is str for v in read_back.to_numpy().ravel())
    prep = prepare(read_back)
    assert prep.items["text"].tolist() == TEXTS  # byte for byte (issue 11's export contract)
    assert prep.items["ext_id"].tolist() == IDS
    assert prep.items["label"].tolist() == [lab or None for lab in LABELS]
    assert prep.items["source_row"].tolist() == list(range(1, len(TEXTS) + 1))
    assert (prep.rows, prep.imported, prep.labelled) == (8, 8, 6)

    # the same through a file on disk, format from the extension
    path = tmp_path / f"out.{fmt}"
    write_table(df, path)
    from_disk = prepare(read_table(path))
    assert from_disk.items["text"].tolist() == prep.items["text"].tolist()
    assert not list(tmp_path.glob("*.part"))  # the temp file was renamed


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
def test_carriage_returns_survive_text_formats(fmt: str) -> None:
    # A bare "\r" written unquoted would split the row when read back (see to_bytes).
    df = pd.DataFrame({"text": ["a\rb", "c\r\nd", "plain"], "label": ["x", "y", "z"]})
    back = read_table(to_bytes(df, fmt), f"t.{fmt}")
    assert back["text"].tolist() == ["a\rb", "c\r\nd", "plain"]


def test_extra_columns_arrive_as_strings_and_nested_values_export_as_json() -> None:
    df = pd.DataFrame({"text": ["hi", "yo"], "n": [1, 2], "when": ["2020-01-01", ""]})
    prep = prepare_items(df, "text")
    assert prep.items["extra"].tolist() == [
        {"n": "1", "when": "2020-01-01"},
        {"n": "2", "when": ""},
    ]
    out = prep.items[["text", "extra"]]
    csv_back = read_table(to_bytes(out, "csv"), "x.csv")
    assert json.loads(csv_back["extra"][0]) == {"n": "1", "when": "2020-01-01"}
    first = json.loads(to_bytes(out, "jsonl").decode().splitlines()[0])
    assert first == {"text": "hi", "extra": {"n": "1", "when": "2020-01-01"}}


def test_jsonl_export_is_plain_json_without_escaped_slashes() -> None:
    df = pd.DataFrame({"text": ["see https://x.co/a"], "score": [0.1234567890123], "n": [None]})
    line = to_bytes(df, "jsonl").decode()
    assert "https://x.co/a" in line
    assert json.loads(line) == {"text": "see https://x.co/a", "score": 0.1234567890123, "n": None}


def test_csv_bom_option_for_excel() -> None:
    df = pd.DataFrame({"text": ["é"]})
    assert to_bytes(df, "csv", bom=True).startswith(codecs.BOM_UTF8)
    assert not to_bytes(df, "csv").startswith(codecs.BOM_UTF8)
    assert read_table(to_bytes(df, "csv", bom=True), "x.csv").columns.tolist() == ["text"]


def test_write_to_buffer_and_format_names() -> None:
    buf = io.BytesIO()
    write_table(sample_frame(), buf, ".CSV")
    assert buf.getvalue() == to_bytes(sample_frame(), "csv")
    msg = error_of(lambda: to_bytes(sample_frame(), "docx"))
    assert "docx" in msg and "csv" in msg and "parquet" in msg
    msg = error_of(lambda: write_table(sample_frame(), io.BytesIO()))
    assert "format" in msg


# ---------------------------------------------------------------------------------- xlsx export


def test_xlsx_keeps_formula_like_texts_and_long_ids_as_text() -> None:
    df = pd.DataFrame({"id": [2**62 + 1, 7], "text": ["=)", "=HYPERLINK(1)"]})
    back = read_table(to_bytes(df, "xlsx"), "x.xlsx")
    assert back["text"].tolist() == ["=)", "=HYPERLINK(1)"]
    assert back["id"].tolist() == [str(2**62 + 1), "7"]


def test_xlsx_keeps_carriage_returns_and_literal_excel_escapes() -> None:
    texts = ["a\r\nb and a bare\rreturn", "literal _x000D_ text", "_x005F_x000D_", "_x_"]
    back = read_table(to_bytes(pd.DataFrame({"text": texts}), "xlsx"), "x.xlsx")
    assert back["text"].tolist() == texts


def test_xlsx_export_refuses_cells_over_excels_limit_naming_row_and_column() -> None:
    df = pd.DataFrame({"text": ["ok", "x" * (EXCEL_CELL_LIMIT + 1)]})
    msg = error_of(lambda: to_bytes(df, "xlsx"))
    assert "row 2" in msg and "'text'" in msg and "32,767" in msg and "CSV" in msg
    ok = pd.DataFrame({"text": ["x" * EXCEL_CELL_LIMIT]})
    assert read_table(to_bytes(ok, "xlsx"), "x.xlsx")["text"][0] == "x" * EXCEL_CELL_LIMIT


def test_xlsx_export_refuses_control_characters() -> None:
    msg = error_of(lambda: to_bytes(pd.DataFrame({"text": ["a\x0bb"]}), "xlsx"))
    assert "U+000B" in msg and "row 1" in msg and "CSV" in msg


# ---------------------------------------------------------------------------------- encodings


def test_utf8_and_bom_header_found_by_name() -> None:
    body = "text,label\ncafé 😀,pos\n"
    for data in (body.encode(), codecs.BOM_UTF8 + body.encode()):
        df = read_table(data, "t.csv")
        assert df.columns.tolist() == ["text", "label"]
        assert detect_columns(df) == ColumnGuess("text", None, "label")
        assert df["text"][0] == "café 😀"
    assert read_table(codecs.BOM_UTF8 + body.encode(), "t.csv").attrs["source"]["encoding"] == (
        "utf-8-sig"
    )


def test_cp1252_decoded_with_a_warning() -> None:
    data = "text,label\n“Curly” quotes – café naïve,pos\n".encode("cp1252")
    df = read_table(data, "t.csv")
    assert df["text"][0] == "“Curly” quotes – café naïve"
    assert df.attrs["source"]["encoding"] == "cp1252"
    assert any("Windows-1252" in w for w in df.attrs["warnings"])


def test_utf16_with_bom_as_excel_unicode_text() -> None:
    data = "id\ttext\n1\tgrüße 😀\n".encode("utf-16")
    df = read_table(data, "t.tsv")
    assert df.to_dict("list") == {"id": ["1"], "text": ["grüße 😀"]}


def test_forced_encoding() -> None:
    data = "text\nПривет мир\n".encode("cp1251")
    assert read_table(data, "t.csv", encoding="cp1251")["text"][0] == "Привет мир"
    msg = error_of(lambda: read_table(b"text\n\xff\xfe\xfa\n", "t.csv", encoding="utf-8"))
    assert "line 2" in msg and "utf-8" in msg


# ---------------------------------------------------------------------------------- delimiters


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_sniffs_delimiter_with_other_delimiters_inside_texts(delim: str) -> None:
    rows = [["id", "text", "label"], ["1", "a, b; c | d", "x"], ["2", "e; f, g", "y"]]
    lines = []
    for r in rows:
        cells = [f'"{c}"' if delim in c or '"' in c else c for c in r]
        lines.append(delim.join(cells))
    df = read_table(("\n".join(lines) + "\n").encode(), "t.csv")
    assert df.attrs["source"]["delimiter"] == delim
    assert df["text"].tolist() == ["a, b; c | d", "e; f, g"]


def test_tsv_extension_with_comma_content_is_sniffed() -> None:
    df = read_table(b"id,text\n1,hello\n", "t.tsv")
    assert df.columns.tolist() == ["id", "text"]


@pytest.mark.parametrize(
    "body",
    [
        'text\n"hello, world"\n"a, b, c"\n',  # quoted: one column as CSV says
        "text\nhello, world\na, b, c\n",  # unquoted: still one column, commas kept
    ],
)
def test_single_column_file_with_commas_stays_one_column(body: str) -> None:
    df = read_table(body.encode(), "t.csv")
    assert df.columns.tolist() == ["text"]
    assert df["text"].tolist() == ["hello, world", "a, b, c"]


def test_cell_over_128kb_in_a_multicolumn_file() -> None:
    # csv's default field limit is 128 kB, and a sniff sample would end inside this cell.
    big = "word, " * 40_000  # 240 kB with commas
    data = f'id,text,label\n1,"{big}",pos\n2,short,neg\n'.encode()
    df = read_table(data, "t.csv")
    assert df["text"].tolist() == [big, "short"]
    assert df["label"].tolist() == ["pos", "neg"]


def test_one_megabyte_single_cell() -> None:
    big = "x" * 1_000_000
    df = read_table(f'text\n"{big}"\n'.encode(), "t.csv")
    assert len(df) == 1 and df["text"][0] == big


# ---------------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["Unnamed: 0", "Tweet", "Target", "Stance"], ColumnGuess("Tweet", None, "Stance")),
        (["text", "label"], ColumnGuess("text", None, "label")),
        (["ID", "Target", "Tweet", "Stance", "Sentiment"], ColumnGuess("Tweet", "ID", "Stance")),
        (["id", "keyword", "location", "text", "target"], ColumnGuess("text", "id", "target")),
        (["id", "id_str", "full_text", "text"], ColumnGuess("full_text", "id_str", None)),
        (["Tweet Text", "Tweet ID", "Label "], ColumnGuess("Tweet Text", "Tweet ID", "Label ")),
    ],
)
def test_detect_columns_by_name(columns: list[str], expected: ColumnGuess) -> None:
    # words in every cell: a column of numbers is never the text, whatever its name
    df = pd.DataFrame([["some words here"] * len(columns)], columns=columns)
    assert detect_columns(df) == expected


def test_pstance_shape_end_to_end() -> None:
    data = (
        b",Tweet,Target,Stance\n"
        b"0,I will vote for him #Bernie,Bernie Sanders,FAVOR\n"
        b"1,Never again,Donald Trump,AGAINST\n"
    )
    df = read_table(data, "pstance_train.csv")
    assert df.columns.tolist() == ["Unnamed: 0", "Tweet", "Target", "Stance"]
    prep = prepare(df)
    assert prep.label_col == "Stance"
    assert prep.items["label"].tolist() == ["FAVOR", "AGAINST"]
    assert prep.items["extra"][0] == {"Unnamed: 0": "0", "Target": "Bernie Sanders"}


def test_detect_text_by_content_when_no_name_matches() -> None:
    df = pd.DataFrame(
        {
            "code": ["A1", "B2", "C3"],
            "url": ["https://x.co/1", "https://x.co/2", "https://x.co/3"],
            "words": ["a tweet with words", "another one here", "and a third tweet"],
            "meta": ['{"a": 1, "b": 2, "c": "long json value"}'] * 3,
        }
    )
    assert detect_columns(df).text == "words"


# ---------------------------------------------------------------------------------- prepare


def test_prepare_skips_blank_texts_and_counts() -> None:
    df = pd.DataFrame(
        {
            "text": ["  a  ", "", "   ", "b", "a", "a", "c"],
            "label": [" pos ", "neg", "", "", "", "neg", " "],
        }
    )
    keep = prepare_items(df, "text", label_col="label")
    assert keep.items["text"].tolist() == ["  a  ", "b", "a", "a", "c"]  # exact; dups by form
    assert keep.items["source_row"].tolist() == [1, 4, 5, 6, 7]
    assert keep.items["label"].tolist() == ["pos", None, None, "neg", None]
    assert (keep.rows, keep.imported, keep.skipped_empty) == (7, 5, 2)
    assert (keep.duplicate_rows, keep.duplicate_groups, keep.labelled) == (2, 1, 2)
    assert any("different labels" in w for w in keep.warnings)

    merged = prepare_items(df, "text", label_col="label", duplicates="merge")
    assert merged.items["text"].tolist() == ["  a  ", "b", "c"]  # the first copy, exactly
    assert merged.items["label"].tolist() == ["pos", None, None]
    assert (merged.imported, merged.duplicate_rows, merged.duplicate_groups) == (3, 2, 1)


def test_merge_takes_a_label_from_a_later_copy() -> None:
    df = pd.DataFrame({"text": ["a", "a", "b"], "label": ["", "neg", ""]})
    merged = prepare_items(df, "text", label_col="label", duplicates="merge")
    assert merged.items["label"].tolist() == ["neg", None]
    assert merged.items["source_row"].tolist() == [1, 3]
    assert merged.labelled == 1


def test_prepare_accepts_frames_not_from_read_table() -> None:
    df = pd.DataFrame({"t": pd.array(["x", None], dtype="str"), "n": [1.0, float("nan")]})
    prep = prepare_items(df, "t", id_col="n")
    assert prep.items.to_dict("list")["ext_id"] == ["1"]
    assert prep.skipped_empty == 1


def test_prepare_warns_about_repeated_and_missing_ids() -> None:
    df = pd.DataFrame({"id": ["1", "1", "", "2"], "text": ["a", "b", "c", "d"]})
    warnings = prepare_items(df, "text", id_col="id").warnings
    assert any("repeats 1 value" in w and "'1'" in w for w in warnings)
    assert any("1 row(s) have an empty id" in w for w in warnings)


def test_guess_format() -> None:
    assert [guess_format(f"a{ext}") for ext in SUPPORTED] == FORMATS
    assert guess_format("A.TXT") == "txt" and guess_format("x.ndjson") == "jsonl"
    msg = error_of(lambda: guess_format("data.xls"))
    assert ".xls" in msg and ".xlsx" in msg and ".csv" in msg


def test_upload_needs_a_name_and_missing_path_is_clear(tmp_path) -> None:
    assert "file name" in error_of(lambda: read_table(b"text\nhi\n"))
    assert "not found" in error_of(lambda: read_table(tmp_path / "nope.csv"))
    upload = io.BytesIO(b"text\nhi\n")
    upload.name = "upload.csv"
    assert read_table(upload)["text"].tolist() == ["hi"]


# ---------------------------------------------------------------------------------- corpus


def _xlsx(sheets: dict[str, list[list[Any]]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


@dataclass
class Case:
    """One bad (or odd) input: the message must name the problem, or the import be exact."""

    id: str
    data: bytes | Callable[[], bytes]
    name: str = "tweets.csv"
    error: list[str] | None = None  # substrings the InputError must contain (case-insensitive)
    cols: dict[str, Any] = field(default_factory=dict)  # overrides for prepare_items
    counts: dict[str, int] = field(default_factory=dict)
    texts: list[str] | None = None
    labels: list[str | None] | None = None
    columns: list[str] | None = None
    warn: list[str] = field(default_factory=list)  # substrings one warning must contain


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
JUNK = random.Random(7).randbytes(4000)

CORPUS = [
    Case("empty_file", b"", error=["empty", "0 bytes"]),
    Case("header_only", b"id,text\n", error=["header (id, text)", "no rows"]),
    Case("header_then_blank_lines", b"id,text\r\n\r\n,\r\n", error=["no rows"]),
    Case("whitespace_only", b"  \n\t \n\n", error=["only whitespace"]),
    Case("binary_junk", JUNK, error=["not text in a known encoding", "CSV", "CSV UTF-8"]),
    Case("png_renamed_csv", PNG, error=["PNG image", "not CSV", "CSV UTF-8"]),
    Case(
        "xlsx_renamed_csv",
        lambda: _xlsx({"S": [["text"], ["hi"]]}),
        error=["Excel workbook", "rename it to .xlsx", "CSV UTF-8"],
    ),
    Case("docx_extension", b"PK\x03\x04junk", "notes.docx", error=["'.docx'", "supported", ".csv"]),
    Case("unknown_extension", b"text\nhi\n", "tweets.dat", error=["'.dat'", ".csv, .tsv"]),
    Case("no_extension", b"text\nhi\n", "tweets", error=["no extension", ".csv"]),
    Case("old_xls", b"\xd0\xcf\x11\xe0junk", "old.xls", error=[".xls", "save it as .xlsx"]),
    Case(
        "csv_renamed_xlsx",
        b"text\nhi\n",
        "t.xlsx",
        error=["not an Excel workbook", "looks like text", ".csv"],
    ),
    Case("text_renamed_parquet", b"text\nhi\n", "t.parquet", error=["not a Parquet file"]),
    Case(
        "missing_text_column",
        b"id,text,date\n1,hi,2020\n",
        cols={"text_col": "Tweet"},
        error=["text column 'Tweet' not found", "columns are: id, text, date", "pick one"],
    ),
    Case(
        "missing_label_column_case",
        b"id,Tweet,Stance\n1,hi,FAVOR\n",
        cols={"label_col": "stance"},
        error=["label column 'stance' not found", "id, Tweet, Stance", "did you mean 'Stance'"],
    ),
    Case(
        "all_empty_text",
        b"id,text,body2\n1,,hello there\n2, ,x\n3,,y\n",
        cols={"text_col": "text"},
        error=["'text' is empty in all 3 rows", "columns with content: id, body2"],
    ),
    Case(
        "same_column_twice",
        b"text,label\nhi,x\n",
        cols={"label_col": "text"},
        error=["'text' cannot be both the text and the label"],
    ),
    Case(
        "whitespace_only_texts",
        b"text,label\nhello,a\n   ,b\n\t,c\nworld,\n",
        counts={"rows": 4, "imported": 2, "skipped_empty": 2, "labelled": 1},
        texts=["hello", "world"],
    ),
    Case(
        "mixed_encodings",
        "text\ncafé utf-8\n".encode() + "naïve “cp1252”\n".encode("cp1252") + "😀 ok\n".encode(),
        texts=["café utf-8", "naïve “cp1252”", "😀 ok"],
        warn=["mixes encodings", "line 3", "Windows-1252"],
    ),
    Case(
        "ragged_rows_extra_fields",
        b"id,text,label\n1,fine,pos\n2,hello, world,neg\n3,ok,neg\n4,a,b,c,d\n",
        error=["2 row(s)", "header's 3", "row 2 (line 3) has 4", "row 4 (line 5) has 5", "quotes"],
    ),
    Case(
        "short_rows_filled",
        b"id,text,label\n1,no label yet\n2,labelled,pos\n",
        counts={"rows": 2, "imported": 2, "labelled": 1},
        labels=[None, "pos"],
        warn=["fewer fields", "row 1 (line 2) has 2"],
    ),
    Case(
        "unclosed_quote",
        b'id,text\n1,fine\n2,"never closed\n3,swallowed\n4,also\n',
        error=["never closed", "line 3"],
    ),
    Case(
        "one_mb_single_cell",
        b'text,label\n"' + b"y" * 1_000_000 + b'",pos\n',
        counts={"rows": 1, "imported": 1, "labelled": 1},
        texts=["y" * 1_000_000],
    ),
    Case(
        "html_js_literal",
        b"text\n\"<img src=x onerror=alert(1)>\"\n<script>alert('x')</script>\n",
        texts=["<img src=x onerror=alert(1)>", "<script>alert('x')</script>"],
    ),
    Case(
        "rtl_and_emoji",
        "text\nمرحبا 👋🏽\n‏שלום‎ 🇮🇱\n".encode(),
        texts=["مرحبا 👋🏽", "\u200fשלום\u200e 🇮🇱"],
    ),
    Case(
        "duplicated_column_names",
        b"text,text,label\nfirst,second,x\n",
        columns=["text", "text.1", "label"],
        texts=["first"],
        warn=["'text' (2x)", "text.1"],
    ),
    Case(
        "duplicate_texts_keep",
        b"text,label\na,x\nb,\na,\na,x\nc,\n",
        counts={"rows": 5, "imported": 5, "duplicate_rows": 2, "duplicate_groups": 1},
    ),
    Case(
        "duplicate_texts_merge",
        b"text,label\na,\nb,\na,x\na,x\nc,\nb,\n",
        cols={"duplicates": "merge"},
        counts={"rows": 6, "imported": 3, "duplicate_rows": 3, "duplicate_groups": 2},
        texts=["a", "b", "c"],
        labels=["x", None, None],
    ),
    Case(
        "partially_labelled",
        b"text,stance\na,FAVOR\nb,\nc,  \nd,AGAINST\n",
        counts={"rows": 4, "imported": 4, "labelled": 2},
        labels=["FAVOR", None, None, "AGAINST"],
    ),
    Case(
        "label_case_inconsistent",
        b"text,label\na,against\nb,AGAINST\nc,favor\n",
        warn=["differ only in upper/lower case", "'against' (1 row)", "'AGAINST' (1 row)"],
    ),
    Case(
        "na_like_values_are_text",
        b"id,text,label\n007,None,NA\nNULL,null,None\n",
        texts=["None", "null"],
        labels=["NA", "None"],
    ),
    Case(
        "jsonl_broken_line",
        b'{"text": "a"}\n{"text": "b"}\n{"text": "c"\n{"text": "d"}\n',
        "t.jsonl",
        error=["line 3", "not valid JSON", "one JSON object"],
    ),
    Case(
        "jsonl_line_not_object",
        b'{"text": "a"}\n["b"]\n',
        "t.jsonl",
        error=["line 2", "not an object"],
    ),
    Case(
        "jsonl_big_ids_exact",
        b'{"id": 1234567890123456789, "text": "a"}\n{"text": "b"}\n\n{"id": 7, "text": "c"}\n',
        "t.jsonl",
        counts={"rows": 3, "imported": 3},
        texts=["a", "b", "c"],
    ),
    Case(
        "json_twitter_api_shape",
        json.dumps(
            {"data": [{"id": "1", "text": "a"}, {"id": "2", "text": "b"}], "meta": {}}
        ).encode(),
        "t.json",
        texts=["a", "b"],
    ),
    Case("json_not_records", b'"just a string"', "t.json", error=["JSON str", "list of objects"]),
    Case(
        "empty_parquet",
        lambda: _parquet(pd.DataFrame({"id": pd.Series([], dtype=str), "text": []})),
        "t.parquet",
        error=["columns (id, text)", "no rows"],
    ),
    Case(
        "parquet_typed_columns",
        lambda: _parquet(pd.DataFrame({"id": [7, 8], "text": ["a", None], "score": [0.5, 1.0]})),
        "t.parquet",
        counts={"rows": 2, "imported": 1, "skipped_empty": 1},
        texts=["a"],
    ),
    Case(
        "xlsx_empty_first_sheet",
        lambda: _xlsx({"Empty": [], "Data": [["text", "label"], ["hi", "x"]], "Other": [["z"]]}),
        "t.xlsx",
        texts=["hi"],
        warn=["'Empty'", "read sheet 'Data'"],
    ),
    Case(
        "xlsx_all_sheets_empty",
        lambda: _xlsx({"A": [], "B": []}),
        "t.xlsx",
        error=["every sheet", "empty", "A, B"],
    ),
    Case(
        "xlsx_numbers_and_blank_rows",
        lambda: _xlsx({"S": [[None], ["id", "text"], [7, "a"], [None, None], [8.0, "b"], []]}),
        "t.xlsx",
        counts={"rows": 3, "imported": 2, "skipped_empty": 1},
        texts=["a", "b"],
    ),
    Case(
        "nul_bytes",
        b"text,label\nhel\x00lo,x\nworld,y\n",
        texts=["hello", "world"],
        warn=["NUL", "line 2"],
    ),
    Case(
        "utf16_without_bom",
        "text\nhello there\n".encode("utf-16-le"),
        error=["not text in a known encoding", "UTF-16"],
    ),
    Case(
        "headerless_single_column",
        b"I can't believe what happened at the debate tonight\nSecond tweet here\n",
        columns=["text"],
        texts=["I can't believe what happened at the debate tonight", "Second tweet here"],
        warn=["looks like a tweet"],
    ),
    Case(
        "headerless_first_tweet_with_comma",
        b"Well, this is the first tweet of the file\nsecond one\nthird, and last\n",
        columns=["text"],
        counts={"rows": 3, "imported": 3},
        warn=["looks like a tweet"],
    ),
    Case(
        "txt_one_per_line",
        b'first tweet, with comma\r\n"quoted" start\r\n\r\nlast\r\n',
        "tweets.txt",
        counts={"rows": 4, "imported": 3, "skipped_empty": 1},
        texts=["first tweet, with comma", '"quoted" start', "last"],
    ),
    Case(
        "multiline_last_row_is_fine",
        b'id,text\n1,a\n2,"last tweet\nhas two lines"\n',
        texts=["a", "last tweet\nhas two lines"],
    ),
    Case(
        "unclosed_quote_single_column",
        b'text\nfine\n"opened here\nswallowed\r\nalso\n',
        error=["never closed", "line 3"],
    ),
    Case(
        "spreadsheet_trailing_commas",
        b"id,text,,\n1,a,,\n2,b,,\n,,,\n,,,\n",
        columns=["id", "text"],
        counts={"rows": 2, "imported": 2},
    ),
]


def _run_case(case: Case) -> tuple[pd.DataFrame, PreparedItems]:
    data = case.data() if callable(case.data) else case.data
    df = read_table(data, case.name)
    kw = dict(case.cols)
    duplicates = kw.pop("duplicates", "keep")
    guess = detect_columns(df)
    args = {"text_col": guess.text, "id_col": guess.id, "label_col": guess.label, **kw}
    return df, prepare_items(df, duplicates=duplicates, **args)


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 20
    assert len({c.id for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_malformed_corpus(case: Case) -> None:
    if case.error is not None:
        msg = error_of(lambda: _run_case(case))
        for part in case.error:
            assert part.lower() in msg.lower(), f"{part!r} not in: {msg}"
        return
    df, prep = _run_case(case)
    if case.columns is not None:
        assert df.columns.tolist() == case.columns
    for key, value in case.counts.items():
        assert getattr(prep, key) == value, (key, getattr(prep, key), value)
    if case.texts is not None:
        assert prep.items["text"].tolist() == case.texts
    if case.labels is not None:
        assert prep.items["label"].tolist() == case.labels
    if case.warn:
        assert any(all(p in w for p in case.warn) for w in prep.warnings), prep.warnings


def test_jsonl_big_ids_kept_exactly() -> None:
    data = b'{"id": 1234567890123456789, "text": "a"}\n{"text": "b"}\n'
    prep = prepare(read_table(data, "t.jsonl"))
    assert prep.items["ext_id"].tolist() == ["1234567890123456789", None]


# ---------------------------------------------------------------------- exact per format / encoding
# Each reader keeps a text byte for byte; these pin the paths the round trip above does not reach.

SEPARATORS = ["line\u2028separator", "para\u2029graph", "next\x85line", "plain"]


def test_jsonl_keeps_unicode_line_separators_inside_a_text() -> None:
    # JSON writes U+2028, U+2029 and U+0085 raw inside strings: only "\n" ends a JSON line.
    data = to_bytes(pd.DataFrame({"id": ["1", "2", "3", "4"], "text": SEPARATORS}), "jsonl")
    assert "\u2028".encode() in data and data.count(b"\n") == 4
    try:
        prep = prepare(read_table(data, "t.jsonl"))
    except InputError as exc:
        pytest.fail(f"a JSONL file with U+2028 inside a text was refused: {exc}")
    assert prep.items["text"].tolist() == SEPARATORS
    assert prep.items["ext_id"].tolist() == ["1", "2", "3", "4"]


def test_csv_keeps_unicode_line_separators_inside_a_text() -> None:
    data = to_bytes(pd.DataFrame({"id": ["1", "2", "3", "4"], "text": SEPARATORS}), "csv")
    prep = prepare(read_table(data, "t.csv"))
    assert prep.items["text"].tolist() == SEPARATORS
    assert prep.items["ext_id"].tolist() == ["1", "2", "3", "4"]


def test_tsv_quoted_texts_read_back_exactly() -> None:
    texts = ['He said "no"', '"quoted" at the start', "two\nlines", "a, comma"]
    data = to_bytes(pd.DataFrame({"id": ["1", "2", "3", "4"], "text": texts}), "tsv")
    prep = prepare(read_table(data, "t.tsv"))
    assert prep.items["text"].tolist() == texts
    assert prep.rows == 4


def test_json_null_and_missing_cells_arrive_empty_not_as_words() -> None:
    data = json.dumps(
        [
            {"id": 1234567890123456789, "text": "first tweet", "lang": None},
            {"id": None, "text": None},
            {"text": "third tweet", "lang": "en"},
        ]
    ).encode()
    df = read_table(data, "t.json")
    assert df["lang"].tolist() == ["", "", "en"]
    prep = prepare(df)
    assert prep.items["text"].tolist() == ["first tweet", "third tweet"]
    assert prep.items["ext_id"].tolist() == ["1234567890123456789", None]
    assert prep.skipped_empty == 1


def test_parquet_big_ids_with_gaps_kept_exactly() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": pa.array([1234567890123456789, None, 7], pa.int64()),
            "text": ["a tweet", "another", "third"],
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    prep = prepare(read_table(buf.getvalue(), "t.parquet"))
    assert prep.items["ext_id"].tolist() == ["1234567890123456789", None, "7"]
    assert prep.items["text"].tolist() == ["a tweet", "another", "third"]


def test_utf8_bom_never_reaches_a_text_and_costs_no_character() -> None:
    first = "Ünïcode tweet first, with a comma and more words"
    data = codecs.BOM_UTF8 + f"{first}\nsecond tweet 😀\n".encode()
    df = read_table(data, "t.csv")
    assert df["text"].tolist() == [first, "second tweet 😀"]
    assert df.attrs["source"]["encoding"] == "utf-8-sig"
    assert not [w for w in df.attrs["warnings"] if "1252" in w or "encoding" in w]


# ---------------------------------------------------------------------------------- no text column


def test_numbers_ids_and_dates_are_never_the_text_column() -> None:
    data = (
        b"id,score,retweets,created_at,share\n"
        b'1,0.5,"1,204",2024-01-02 10:00:00,12%\n'
        b"2,-1.25,3,2024-01-03 11:30:00,3.5%\n"
        b"3,3e-2,17,2024-01-04 09:15:00,n/a\n"
    )
    df = read_table(data, "scores.csv")
    assert detect_columns(df).text is None
    from labeler.io.columns import no_text_column_message

    msg = no_text_column_message(df, "scores.csv")
    assert "scores.csv" in msg and "no column" in msg.lower()
    for col in ("id", "score", "retweets", "created_at", "share"):
        assert col in msg
    assert "numbers" in msg and "dates" in msg
    assert "choose the file that holds the tweets" in msg.lower()


def test_a_text_name_holding_numbers_is_not_taken() -> None:
    df = pd.DataFrame(
        {
            "comment": ["12", "0", "7"],  # a count of comments, not a comment
            "status": ["1234567890123456789", "1234567890123456790", "1234567890123456791"],
            "words": ["a tweet with words", "another one here", "and a third tweet"],
        }
    )
    assert detect_columns(df).text == "words"
    only_numbers = df[["comment", "status"]]
    assert detect_columns(only_numbers).text is None


def test_single_words_still_make_a_text_column() -> None:
    df = pd.DataFrame({"n": ["1", "2", "3"], "reply": ["yes", "no", "maybe"]})
    assert detect_columns(df).text == "reply"


# ---------------------------------------------------------------------------------- formula cells
# A cell starting with = + - @ (or a tab or carriage return) runs as a formula when a spreadsheet
# opens a CSV. CSV is exact by default; spreadsheet_safe=True puts a ' in front of such cells
# (OWASP's CSV-injection rule). XLSX always stores a text as text.

FORMULA_TEXTS = [
    "=1+1",
    '=HYPERLINK("http://x.example","click")',
    "+1 555 0100 call me",
    "-2 degrees today",
    "@user hello",
    "\tstarts with a tab",
    "\rstarts with a carriage return",
]
HARMLESS_TEXTS = ["plain tweet", " =space first", "a=b", "#tag", "'quoted'", ""]
FORMULA_HEADER = '=HYPERLINK("http://x.example","h")'


def formula_frame() -> pd.DataFrame:
    texts = FORMULA_TEXTS + HARMLESS_TEXTS
    return pd.DataFrame(
        {
            "text": texts,
            FORMULA_HEADER: ["@cmd"] + ["x"] * (len(texts) - 1),
            "score": [-0.5] * len(texts),
        }
    )


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_csv_keeps_formula_like_texts_byte_for_byte_by_default(fmt: str) -> None:
    data = to_bytes(formula_frame(), fmt)
    back = read_table(data, f"x.{fmt}")
    assert back.columns.tolist() == ["text", FORMULA_HEADER, "score"]
    assert back["text"].tolist() == FORMULA_TEXTS + HARMLESS_TEXTS
    assert back[FORMULA_HEADER][0] == "@cmd"
    assert b"'=1+1" not in data and b"'@" not in data


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_csv_for_spreadsheets_neutralises_every_formula_prefix(fmt: str) -> None:
    data = to_bytes(formula_frame(), fmt, spreadsheet_safe=True)
    back = read_table(data, f"x.{fmt}")
    assert back.columns.tolist() == ["text", "'" + FORMULA_HEADER, "score"]
    assert back["text"].tolist() == ["'" + t for t in FORMULA_TEXTS] + HARMLESS_TEXTS
    assert back["'" + FORMULA_HEADER][0] == "'@cmd"
    assert set(back["score"]) == {"-0.5"}  # a number is not a formula: it stays a number


def test_xlsx_stores_every_formula_like_text_as_text() -> None:
    wb = openpyxl.load_workbook(io.BytesIO(to_bytes(formula_frame(), "xlsx")))
    ws = wb.active
    texts = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    looks_like_formula = [c for c in texts if c.value[:1] in ("=", "+", "-", "@", "\t")]
    assert len(looks_like_formula) == len(FORMULA_TEXTS) - 1 + 2  # \r is stored as _x000D_
    formulas = [(c.coordinate, c.value) for c in texts if c.data_type != "s"]
    assert formulas == []
    assert ws["B1"].value == FORMULA_HEADER and ws["B2"].value == "@cmd"
    back = read_table(to_bytes(formula_frame(), "xlsx"), "x.xlsx")
    assert back.columns.tolist() == ["text", FORMULA_HEADER, "score"]
    assert back["text"].tolist() == FORMULA_TEXTS + HARMLESS_TEXTS
