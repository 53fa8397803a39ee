"""The scorecard workbook builder (reports/xlsx.py) on hand-made rows, read back with
openpyxl in memory. The PDF builder, which reads a system font and is read back with poppler,
is tested in tests/integration/test_exports_pdf.py on the same rows."""

from __future__ import annotations

from datetime import date, datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from cases.metrics import INDICATORS, CaseTally, compute
from reports.scorecard import Period, Scorecard, ScoreRow, ScoreTable
from reports.xlsx import build_xlsx, sheet_title

GENERATED = datetime(2026, 4, 2, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
# District A: 6 reports, 5 accepted, 4 registered (4/5 = 80 %), 4 dispatched (100 %), 3 on
# time (75 %), due for handling 4 / on time 3 (75 %), due for closing 4: closed 3 (75 %), on
# time 2 (50 %), reworked 1 (25 %); extended 1 of 4 (25 %); overdue 2; handled 4 in 87 h
# (21.75 h), p90 48 h.
A = compute(CaseTally(reports=6, accepted=5, registered=4, declined=2, dispatched=4,
                      dispatched_on_time=3, due_handling=4, handled_on_time=3, due_closing=4,
                      closed=3, closed_on_time=2, reworked=1, extended=1, overdue=2, handled=4,
                      handling_seconds=313200.0), [2 * 3600, 13 * 3600, 24 * 3600, 48 * 3600])
# District B: 1 report, accepted, not registered: registration rate 0 %; the other rates
# (zero denominators) and both handling times are None.
B = compute(CaseTally(reports=1, accepted=1))
SHOWN_A = {"reports": "6", "accepted": "5", "registered": "4", "registration_rate": "80.0%",
           "dispatch_rate": "100.0%", "on_time_dispatch_rate": "75.0%",
           "on_time_handling_rate": "75.0%", "closure_rate": "75.0%",
           "on_time_closure_rate": "50.0%", "rework_rate": "25.0%", "extension_rate": "25.0%",
           "overdue": "2", "mean_handling_hours": "21.75", "p90_handling_hours": "48.00"}


def card(lang: str = "zh-CN") -> Scorecard:
    districts = ScoreTable("district", (ScoreRow("449902", "端江区", A),
                                        ScoreRow("449903", "鼎山区", B)))
    departments = ScoreTable("department", (ScoreRow("D01", "市政设施管理处", A),))
    return Scorecard(period=Period(date(2026, 3, 1), date(2026, 3, 31)),
                     generated_at=GENERATED,
                     tables=(districts, departments, ScoreTable("grid", ())),
                     city_name="西江市", lang=lang)


def test_hand_computed_values() -> None:
    assert A["registration_rate"] == 0.8 and A["mean_handling_hours"] == 21.75
    assert A["p90_handling_hours"] == 48.0 and B["registration_rate"] == 0.0
    assert B["closure_rate"] is None


def test_workbook_has_a_sheet_per_grouping_with_the_numbers() -> None:
    wb = load_workbook(BytesIO(build_xlsx(card())))
    assert wb.sheetnames == ["考核评价", "区-县", "处置部门", "单元网格", "指标公式"]
    assert sheet_title("district", "zh-CN") == "区-县"
    about = wb["考核评价"]
    assert about["A1"].value == "西江市 考核评价 · 2026年3月"
    assert [c.value for c in about[2]][:4] == ["考核周期", "2026年3月", "2026-03-01",
                                                "2026-03-31"]
    assert about["B3"].value.startswith("2026-04-02 09:30")

    ws = wb["区-县"]
    assert ws.freeze_panes == "C2"
    header = [c.value for c in ws[1]]
    assert header == ["编码", "名称", *(ind.name_zh for ind in INDICATORS)]
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"449902", "449903"}
    for col, ind in enumerate(INDICATORS, start=2):
        expected = A[ind.key]
        got = rows["449902"][col]
        assert got == pytest.approx(expected), ind.key
        assert rows["449903"][col] == (None if B[ind.key] is None else pytest.approx(B[ind.key]))
    formats = {ind.key: ws.cell(row=2, column=col).number_format
               for col, ind in enumerate(INDICATORS, start=3)}
    assert formats["registration_rate"] == "0.0%" and formats["mean_handling_hours"] == "0.00"
    assert formats["reports"] == "#,##0"
    assert isinstance(rows["449902"][2], int)  # a count is an integer cell
    assert wb["单元网格"].max_row == 1  # the header alone: no rows

    formulas = wb["指标公式"]
    assert formulas.freeze_panes == "A2"
    listed = list(formulas.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in listed] == [ind.key for ind in INDICATORS]
    assert listed[3][1:3] == ("立案率", "立案数 ÷ 受理数")
    assert listed[3][5] == "Registration rate"


def test_workbook_in_english() -> None:
    wb = load_workbook(BytesIO(build_xlsx(card("en"))))
    assert wb.sheetnames == ["Scorecards", "District", "Department", "Unit grid", "Formulas"]
    assert wb["District"]["C1"].value == "Reports"
