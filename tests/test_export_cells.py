"""Exports a manager opens in Excel or WPS never run what a citizen or a settings page typed:
a comment or a name beginning with = + - @ (or a tab or CR) is text in the file, not a formula."""
import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from hallserver.attendance_desk import month_csv, month_xlsx
from hallserver.reports.cells import csv_cell
from hallserver.reports.hall import tables_csv, tables_xlsx
from tests.test_rating_chain import SECRET, proc, send  # noqa: F401 - proc: the command path on a real store

FORMULA = '=HYPERLINK("http://evil.example/x","点此领取补贴")'


def test_a_rating_comment_that_is_a_formula_is_text_in_the_excel_and_csv_exports(proc, db_url, tmp_path):  # noqa: F811
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    for comment in (FORMULA, "+86 138", "-", "@SUM(A1)", "\t=1+1", "满意，谢谢"):
        send(proc, "kiosk-1", type="ticket.issue", category="social")
        send(proc, "counter-1", type="window.call_next", window="w1")
        send(proc, "counter-1", type="window.complete", window="w1")
        assert send(proc, "tablet-1", type="rating.submit", window="w1", level=4, reasons=[], comment=comment)["ok"]
    toml = tmp_path / "hall.toml"
    example = (Path(__file__).parent.parent / "examples" / "hall.toml").read_text("utf-8")
    toml.write_text(example + f'\n[ratings]\nsecret = "{SECRET}"\n', encoding="utf-8")
    run = [sys.executable, "-m", "hall.cli", "ratings", "export", "--config", str(toml), "--database", db_url]
    subprocess.run([*run, "--out", str(tmp_path / "r.xlsx")], check=True, capture_output=True)
    subprocess.run([*run, "--out", str(tmp_path / "r.csv")], check=True, capture_output=True)

    sheet = load_workbook(tmp_path / "r.xlsx").active
    text_column = [c.value for c in sheet[1]].index("text") + 1
    cells = [sheet.cell(row, text_column) for row in range(2, 8)]
    assert [c.value for c in cells] == [FORMULA, "+86 138", "-", "@SUM(A1)", "\t=1+1", "满意，谢谢"]   # exact text
    assert all(c.data_type == "s" for c in cells)                       # never "f", a formula
    level_column = [c.value for c in sheet[1]].index("level") + 1
    assert sheet.cell(2, level_column).value == 4                       # numbers stay numbers

    rows = list(csv.DictReader((tmp_path / "r.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert [r["text"] for r in rows[:5]] == ["'" + FORMULA, "'+86 138", "'-", "'@SUM(A1)", "'\t=1+1"]
    assert rows[5]["text"] == "满意，谢谢"


def test_report_and_attendance_exports_neutralise_names_typed_in_the_settings():
    tables = [("窗口", ["窗口", "得分"], [["=cmd|' /C calc'!A0", -3], ["1号窗口", 5]])]
    text = tables_csv(tables)
    assert "'=cmd|" in text and ",-3" in text                            # a negative number is not text
    sheet = load_workbook(io.BytesIO(tables_xlsx(tables)))["窗口"]
    assert sheet["A2"].value == "=cmd|' /C calc'!A0" and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == -3 and sheet["B2"].data_type == "n"

    person = {"staff": "s9", "name": "@SUM(1+1)", "department": "综合", "scheduled": 40, "present": 40,
              "late_times": 0, "late_min": 0, "early_times": 0, "early_min": 0, "absent_shifts": 0, "away_min": 0,
              "leave_shifts": 0, "leave_min": 0}
    sheet_text = month_csv([person], 2026, 11)
    assert "'@SUM(1+1)" in sheet_text
    book = load_workbook(io.BytesIO(month_xlsx([person], 2026, 11, "示范大厅")))
    found = [c for row in book.active.iter_rows() for c in row if c.value == "@SUM(1+1)"]
    assert found and all(c.data_type == "s" for c in found)


@pytest.mark.fast
def test_csv_cell_leaves_plain_text_and_numbers_alone():
    assert csv_cell("王女士") == "王女士" and csv_cell(-5) == -5 and csv_cell(None) is None
    assert csv_cell("=1") == "'=1" and csv_cell("\r=1") == "'\r=1"
