"""The matter catalogue (事项目录) as a CSV file (UTF-8) or an Excel workbook (.xlsx, first
sheet) a hall exports from its provincial system or keeps in a spreadsheet:

    id,name,department,kind,legal_days,promised_days,materials
    food-licence,食品经营许可,市场监管局,承诺件,20,5,申请书|营业执照|场所平面图

`materials` are separated by `|` (or the full-width `｜`). `kind` is one of 即办件, 当日办结件,
承诺件, 上报件, 联办件. Optional columns: `max_extension_days` (blank: the kind's limit) and
`certificate` (是/否: the decision gives a certificate, 行政许可法 §44). Every row is validated
like hall.toml; a bad row is refused with the file, the row and the reason.
"""
from __future__ import annotations

import csv
from pathlib import Path

from pydantic import ValidationError

from govhall.config import ConfigError, MatterConfig, PostConfig, read_text_file

COLUMNS = ["id", "name", "department", "kind", "legal_days", "promised_days", "materials"]
YES_NO = {"": False, "否": False, "no": False, "0": False, "false": False,
          "是": True, "yes": True, "1": True, "true": True}


def _xlsx_rows(path: Path) -> list[dict]:
    """The first sheet of an Excel workbook, its first row the header (openpyxl)."""
    from openpyxl import load_workbook  # openpyxl: only for an Excel file
    try:
        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
    except Exception as exc:                      # not a workbook, or damaged
        raise ConfigError(f"{path}: not a readable Excel workbook ({exc.__class__.__name__})") from None
    rows = [["" if v is None else str(v).strip() for v in row] for row in sheet.iter_rows(values_only=True)]
    if not rows:
        return []
    header = rows[0]
    return [dict(zip(header, row, strict=False)) for row in rows[1:] if any(row)]


def load_catalogue(path: str | Path) -> list[MatterConfig]:
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        if not path.exists():
            raise ConfigError(f"{path}: cannot read: No such file or directory")
        rows = _xlsx_rows(path)
    else:
        text = read_text_file(path, bom=True, hint=" (save the spreadsheet as CSV UTF-8)")
        rows = list(csv.DictReader(text.splitlines()))
    require_columns(rows, COLUMNS, str(path))
    out = []
    for n, row in enumerate(rows, start=2):
        materials = split_list(row.get("materials"))
        extension = (row.get("max_extension_days") or "").strip()      # optional column: blank is the kind's
        certificate = (row.get("certificate") or "").strip().lower()     # optional column: blank is 否
        if certificate not in YES_NO:
            raise ConfigError(f"{path}: row {n}: certificate must be 是 or 否 (or blank), not {certificate!r}")
        try:
            out.append(MatterConfig(id=(row["id"] or "").strip(), name=(row["name"] or "").strip(),
                                    department=(row["department"] or "").strip(), kind=(row["kind"] or "").strip(),
                                    legal_days=int(row["legal_days"]), promised_days=int(row["promised_days"]),
                                    materials=materials, max_extension_days=int(extension) if extension else None,
                                    certificate=YES_NO[certificate]))
        except (ValueError, TypeError, ValidationError) as exc:
            reason = exc.errors()[0]["msg"].removeprefix("Value error, ") if isinstance(exc, ValidationError) \
                else f"legal_days, promised_days and max_extension_days must be whole numbers ({exc})"
            raise ConfigError(f"{path}: row {n}: {reason}") from None
    return out


POST_COLUMNS = ["id", "name", "a", "b", "categories", "front_desk"]


def load_posts(path: str | Path) -> list[PostConfig]:
    """岗位 (AB岗) from a CSV file (see `parse_posts`)."""
    path = Path(path)
    return parse_posts(read_text_file(path, bom=True), str(path))


def require_columns(rows: list[dict], columns: list[str], where: str) -> None:
    """A table's header has every column it needs, or the error names the first one missing."""
    header = list(rows[0].keys()) if rows else []
    missing = [c for c in columns if c not in header]
    if missing:
        raise ConfigError(f"{where}: the header needs the columns {', '.join(columns)} (missing {missing[0]})")


def csv_rows(text: str, columns: list[str], where: str) -> list[dict]:
    """The rows of CSV text (a BOM allowed) whose header has `columns`."""
    rows = list(csv.DictReader(text.removeprefix("\ufeff").splitlines()))
    require_columns(rows, columns, where)
    return rows


def split_list(cell: str | None) -> list[str]:
    """A CSV cell holding a list: `|`-separated (the full-width ｜ too), blanks dropped."""
    return [x.strip() for x in (cell or "").replace("｜", "|").split("|") if x.strip()]


def parse_posts(text: str, where: str) -> list[PostConfig]:
    """岗位 (AB岗) from CSV text: id,name,a,b,categories,front_desk — categories `|`-separated,
    front_desk 是/否 (or yes/no, 1/0). `where` names the source in the errors."""
    rows = csv_rows(text, POST_COLUMNS, where)
    out = []
    for n, row in enumerate(rows, start=2):
        cell = {k: (row.get(k) or "").strip() for k in POST_COLUMNS}      # a short row has None cells
        try:
            out.append(PostConfig(id=cell["id"], name=cell["name"], a=cell["a"], b=cell["b"],
                                  categories=split_list(cell["categories"]),
                                  front_desk=cell["front_desk"].lower() in ("是", "yes", "1", "true")))
        except ValidationError as exc:
            error = exc.errors()[0]
            column = ".".join(str(x) for x in error["loc"])
            reason = error["msg"].removeprefix("Value error, ")
            raise ConfigError(f"{where}: row {n}: {column + ': ' if column else ''}{reason}") from None
    return out
