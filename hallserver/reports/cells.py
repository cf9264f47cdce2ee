"""Export cells that a spreadsheet never runs (CSV/formula injection).

A citizen's comment such as ``=HYPERLINK("http://…","点此")`` would become a live formula when a
manager opens the export in Excel or WPS. Every text cell that begins with ``= + - @`` or a tab
or carriage return is neutralised: in CSV it gets a leading apostrophe (the OWASP advice; the
spreadsheet shows the text, not a result), in Excel it is written as a plain string, never as
a formula, and keeps its exact text. Numbers stay numbers (a negative score is not text).
"""
from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value: Any) -> Any:
    """The value as a CSV cell that no spreadsheet evaluates."""
    return "'" + value if is_formula_like(value) else value


class SafeCsvWriter:
    """csv.writer's writerow/writerows, with every cell through csv_cell."""

    def __init__(self, out: Any) -> None:   # noqa: ANN401 - any file-like object csv.writer takes
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([csv_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class SafeDictWriter(csv.DictWriter):
    """csv.DictWriter with every cell through csv_cell."""

    def writerow(self, rowdict: dict[str, Any]) -> Any:   # noqa: ANN401 - what csv.DictWriter returns
        return super().writerow({k: csv_cell(v) for k, v in rowdict.items()})

    def writerows(self, rowdicts: Iterable[dict[str, Any]]) -> None:
        for row in rowdicts:
            self.writerow(row)


def append_row(sheet: Any, values: Iterable[Any]) -> None:   # noqa: ANN401 - an openpyxl worksheet
    """sheet.append(values), with any text that looks like a formula stored as text."""
    values = list(values)
    sheet.append(values)
    row = sheet.max_row
    for column, value in enumerate(values, start=1):
        if is_formula_like(value):
            cell = sheet.cell(row, column)
            cell.value = value
            cell.data_type = "s"        # a string cell: Excel shows it, never evaluates it
