"""Tables for people: the format by the extension, a BOM in CSV, formula-looking text
neutralised, Chinese intact in every format."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pandas as pd
import pytest

from features.files import FORMATS, FileFormatError, neutralise, table_format, write_table

INJECTED = '=HYPERLINK("http://x","y")'


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "名称": [INJECTED, "太原市安全企业", "-1+2", "@SUM(A1)", "\tx", None],
            "points": [-12.5, 3.0, -1.0, 0.0, 2.0, None],
            "count": [-3, 1, 2, 3, 4, 5],
            "on": [dt.date(2024, 3, 1), None, dt.date(2024, 3, 2), None, None, None],
            "listed": [True, False, True, False, True, False],
        }
    )


def test_neutralise_prefixes_text_only() -> None:
    assert [neutralise(v) for v in ["=1", "+1", "-1", "@a", "\ta", "\ra", "a=1"]] == [
        "'=1", "'+1", "'-1", "'@a", "'\ta", "'\ra", "a=1"
    ]  # fmt: skip
    assert neutralise(-1) == -1 and neutralise(-2.5) == -2.5 and neutralise(None) is None


def test_csv_has_a_bom_neutralised_text_and_numbers_as_numbers(tmp_path) -> None:
    path = write_table(_frame(), tmp_path / "t.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "太原市安全企业".encode() in raw
    back = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)
    assert list(back["名称"][:5]) == [
        f"'{INJECTED}",
        "太原市安全企业",
        "'-1+2",
        "'@SUM(A1)",
        "'\tx",
    ]
    assert back["count"].tolist() == [-3, 1, 2, 3, 4, 5]  # numbers, never prefixed
    line = raw.decode("utf-8-sig").splitlines()[1]
    assert line == '"\'=HYPERLINK(""http://x"",""y"")",-12.5,-3,2024-03-01,True'


def test_xlsx_reads_back_chinese_and_stores_formulas_as_text(tmp_path) -> None:
    path = write_table(_frame(), tmp_path / "t.xlsx")
    sheet = openpyxl.load_workbook(path).active
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]] == ["名称", "points", "count", "on", "listed"]
    first = rows[1][0]
    assert (first.value, first.data_type, first.quotePrefix) == (INJECTED, "s", True)
    assert rows[2][0].value == "太原市安全企业" and not rows[2][0].quotePrefix
    assert (rows[1][1].value, rows[1][1].data_type) == (-12.5, "n")
    assert rows[1][2].value == -3 and rows[1][3].value.date() == dt.date(2024, 3, 1)
    assert rows[1][4].value is True and rows[6][0].value is None
    # nothing in the workbook is a formula
    assert not any(c.data_type == "f" for row in rows for c in row)


def test_json_is_records_with_chinese_as_is(tmp_path) -> None:
    path = write_table(_frame(), tmp_path / "t.json")
    text = path.read_text(encoding="utf-8")
    assert "太原市安全企业" in text and "\\u" not in text
    records = json.loads(text)
    assert records[0] == {
        "名称": INJECTED, "points": -12.5, "count": -3, "on": "2024-03-01", "listed": True
    }  # fmt: skip
    assert records[5]["名称"] is None and records[5]["points"] is None


def test_parquet_keeps_the_values(tmp_path) -> None:
    back = pd.read_parquet(write_table(_frame(), tmp_path / "t.parquet"))
    assert back["名称"][0] == INJECTED and back["count"].tolist()[0] == -3


@pytest.mark.parametrize("name", ["t.txt", "t.xls", "t", "t.csv.gz"])
def test_an_unknown_extension_is_refused_before_anything_is_written(tmp_path, name) -> None:
    with pytest.raises(FileFormatError, match=r"\.csv, \.xlsx, \.json, \.parquet"):
        write_table(_frame(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []
    assert table_format("A.XLSX") == ".xlsx" and FORMATS == (".csv", ".xlsx", ".json", ".parquet")


def test_a_table_replaces_the_file_whole(tmp_path) -> None:
    path = tmp_path / "deep" / "t.csv"
    write_table(_frame(), path)
    write_table(_frame().head(1), path)
    assert len(pd.read_csv(path, encoding="utf-8-sig")) == 1
    assert [p.name for p in path.parent.iterdir()] == ["t.csv"]
