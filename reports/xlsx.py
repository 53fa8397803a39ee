"""The scorecard as an Excel workbook (openpyxl): a sheet per grouping, then the formulas.

Each grouping's sheet: one header row (frozen, with the code and name columns), one row per
group; rates are stored as fractions with the ``0.0%`` number format, hours with ``0.00``,
counts as integers; an empty cell is a zero denominator. The first sheet says what the
workbook is (title, period, generation time, notes); the last lists every indicator's formula.
"""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from cases.metrics import INDICATORS
from reports.scorecard import (
    Scorecard,
    cell_number,
    indicator_formula,
    indicator_name,
    text,
)

NUMBER_FORMATS = {"rate": "0.0%", "hours": "0.00", "count": "#,##0"}
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
HEADER_FONT = Font(bold=True, color="FFFFFF")
#: Sheet names may not exceed 31 characters nor contain []:*?/\ — ours are short labels.
FORMULAS_SHEET = "formulas"


def sheet_title(by: str, lang: str) -> str:
    """The sheet of a grouping: its label in ``lang`` (e.g. "区-县" for 区/县; "/" is not
    allowed in sheet names)."""
    return text(f"by.{by}", lang).replace("/", "-")[:31]


def _header(ws, labels: list[str], widths: list[int]) -> None:
    ws.append(labels)
    for col, width in enumerate(widths, start=1):
        cell = ws.cell(row=1, column=col)
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.row_dimensions[1].height = 36


def build_xlsx(card: Scorecard) -> bytes:
    """The workbook's bytes (see the module docstring for its layout)."""
    lang = card.lang
    wb = Workbook()
    about = wb.active
    about.title = text("title", lang)[:31]
    about.append([card.title()])
    about["A1"].font = Font(bold=True, size=14)
    about.append([text("period", lang), card.period.label(lang),
                  card.period.first.isoformat(), card.period.last.isoformat()])
    about.append([text("generated", lang), card.generated_at.strftime("%Y-%m-%d %H:%M %Z")])
    about.append([text("by", lang), ", ".join(text(f"by.{t.by}", lang) for t in card.tables)])
    about.append([text("notes", lang)])
    about.column_dimensions["A"].width = 14
    about.column_dimensions["B"].width = 28

    for table in card.tables:
        ws = wb.create_sheet(sheet_title(table.by, lang))
        labels = [text("code", lang), text("name", lang),
                  *(indicator_name(ind, lang) for ind in INDICATORS)]
        _header(ws, labels, [18, 22, *(12 for _ in INDICATORS)])
        for row in table.rows:
            ws.append([row.key, row.name,
                       *(cell_number(ind, row.values.get(ind.key)) for ind in INDICATORS)])
        for col, ind in enumerate(INDICATORS, start=3):
            fmt = NUMBER_FORMATS[ind.kind]
            for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                cell.number_format = fmt
        ws.freeze_panes = "C2"
        if table.rows:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(labels))}{len(table.rows) + 1}"

    ws = wb.create_sheet(text("formulas", lang)[:31] or FORMULAS_SHEET)
    _header(ws, [text("key", lang), text("indicator", lang), text("formula", lang),
                 text("unit", lang), "指标", "Indicator", "公式", "Formula"],
            [24, 26, 40, 8, 20, 34, 36, 48])
    for ind in INDICATORS:
        ws.append([ind.key, indicator_name(ind, lang), indicator_formula(ind, lang),
                   text(f"unit.{ind.kind}", lang), ind.name_zh, ind.name_en, ind.formula_zh,
                   ind.formula_en])
    ws.freeze_panes = "A2"
    wb.properties.title = card.title()
    wb.properties.creator = "OneGrid"
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
