"""The scorecard downloads (/exports/scorecards.xlsx and .pdf) through Flask's test client on
the real app, on the seeded demo city in SQLite and in PostgreSQL: the workbook read back with
openpyxl equals data.metrics.indicators, the PDF read back with pdftotext shows the same
numbers in Chinese with its font embedded; other roles get 403, bad parameters 400 JSON."""

from __future__ import annotations

import random
import shutil
import subprocess
from datetime import date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from cases.metrics import INDICATORS
from data.metrics import indicators
from data.models import Case, Department, UnitGrid, User
from reports import pdf as pdf_module
from reports.scorecard import Period, format_value
from reports.xlsx import sheet_title
from tests.integration.test_exports_pdf import embedded_fonts

MONTH = Period(date(2025, 6, 1), date(2025, 6, 30))
SHEETS = ("district", "street", "community", "grid", "department", "inspector")


@pytest.fixture(scope="module")
def june(seeded_services) -> dict[str, Any]:
    """Thirty cases of June 2025 (city time) and a few around it, in two districts."""
    services = seeded_services
    tz = services.cases.calendar.tz
    rng = random.Random(7)
    with services.transaction() as s:
        grids = list(s.execute(select(UnitGrid.code, UnitGrid.inspector_id)
                               .order_by(UnitGrid.code)))
        districts = sorted({g[:6] for g, _ in grids})[:2]
        grids = [g for g in grids if g[0][:6] in districts]
        grids = [grids[0], grids[1], grids[-1], grids[len(grids) // 2]]
        depts = list(s.scalars(select(Department.id).order_by(Department.code).limit(3)))
        start = datetime(2025, 5, 25, tzinfo=tz)
        for i in range(36):
            grid, inspector = grids[i % len(grids)]
            reported = start + timedelta(hours=rng.uniform(0, 24 * 40))
            row = Case(code=f"XP{i:05d}", source="inspector", category_kind="event",
                       category_code="0503", status="reported", title=f"导出测试 {i}",
                       grid_code=grid, inspector_id=inspector, reported_at=reported,
                       updated_at=reported, overdue_count=int(i % 7 == 0))
            if i % 9 == 4:
                row.status, row.decline_reason = "declined", ("invalid" if i % 2 else
                                                             "duplicate")
            elif i % 5 != 3:
                registered = reported + timedelta(minutes=rng.uniform(5, 90))
                dispatched = registered + timedelta(minutes=rng.uniform(5, 90))
                handled = dispatched + timedelta(hours=rng.uniform(1, 40))
                row.status = "closed" if i % 4 else "handled"
                row.registered_at, row.dispatched_at = registered, dispatched
                row.department_id = depts[i % len(depts)]
                row.dispatched_on_time = i % 6 != 0
                row.handle_deadline_at = dispatched + timedelta(hours=24)
                row.handled_at, row.handled_on_time = handled, handled <= row.handle_deadline_at
                row.close_deadline_at = dispatched + timedelta(hours=36)
                row.rework_count, row.extension_count = int(i % 8 == 1), int(i % 10 == 2)
                if row.status == "closed":
                    row.closed_at = handled + timedelta(hours=2)
                    row.closed_on_time = row.closed_at <= row.close_deadline_at
            s.add(row)
    return {"tz": tz}


def sign_in_as(client, services, username: str | None) -> None:
    with services.session() as s:
        user_id = s.scalar(select(User.id).where(User.username == username)) if username \
            else None
    with client.session_transaction() as session:
        session.clear()
        if user_id is not None:
            session["user_id"] = user_id


def expected(services, tz, by: str, period: Period = MONTH) -> list[dict[str, Any]]:
    start, end = period.bounds(tz)
    with services.session() as s:
        return indicators(s, None, start=start, end=end, by=by)


def test_workbook_equals_the_indicators(client, seeded_services, june) -> None:
    sign_in_as(client, seeded_services, "leader01")
    reply = client.get("/exports/scorecards.xlsx?month=2025-06")
    assert reply.status_code == 200, reply.get_data(as_text=True)[:300]
    assert reply.mimetype.endswith("spreadsheetml.sheet")
    assert "scorecards-2025-06.xlsx" in reply.headers["Content-Disposition"]
    wb = load_workbook(BytesIO(reply.data))
    assert wb.sheetnames == ["考核评价", *(sheet_title(by, "zh-CN") for by in SHEETS),
                             "指标公式"]
    compared = 0
    for by in SHEETS:
        ws = wb[sheet_title(by, "zh-CN")]
        assert ws.freeze_panes == "C2"
        got = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
        want = expected(seeded_services, june["tz"], by)
        assert list(got) == [g["key"] for g in want], by
        for group in want:
            row = got[group["key"]]
            assert row[1] == group["name"]
            for col, ind in enumerate(INDICATORS, start=2):
                value = group["values"][ind.key]
                assert row[col] == (None if value is None else pytest.approx(value)), \
                    (by, group["key"], ind.key)
                compared += value is not None
    assert compared > 200, "the month's cases should fill the sheets"
    districts = expected(seeded_services, june["tz"], "district")
    assert len(districts) == 2 and sum(g["tally"].reports for g in districts) >= 20


def test_range_and_month_give_the_same_workbook_numbers(client, seeded_services,
                                                        june) -> None:
    sign_in_as(client, seeded_services, "command01")
    by_month = client.get("/exports/scorecards.xlsx?month=2025-06&by=district")
    by_range = client.get("/exports/scorecards.xlsx?start=2025-06-01&end=2025-06-30"
                          "&by=district")
    half = client.get("/exports/scorecards.xlsx?start=2025-06-01&end=2025-06-15&by=district")
    assert by_month.status_code == by_range.status_code == half.status_code == 200

    def rows(reply) -> list[tuple]:
        return list(load_workbook(BytesIO(reply.data))["区-县"].iter_rows(values_only=True))

    assert rows(by_month) == rows(by_range)
    want = expected(seeded_services, june["tz"], "district",
                    Period(date(2025, 6, 1), date(2025, 6, 15)))
    assert [r[2] for r in rows(half)[1:]] == [g["values"]["reports"] for g in want]
    assert "scorecards-2025-06-01-2025-06-15.xlsx" in half.headers["Content-Disposition"]


def test_pdf_shows_the_numbers_with_an_embedded_chinese_font(client, seeded_services, june,
                                                            tmp_path: Path) -> None:
    sign_in_as(client, seeded_services, "admin")
    reply = client.get("/exports/scorecards.pdf?month=2025-06&by=district,department")
    assert reply.status_code == 200, reply.get_data(as_text=True)[:300]
    assert reply.mimetype == "application/pdf" and reply.data.startswith(b"%PDF-")
    assert embedded_fonts(reply.data), "the CJK font is not embedded"
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext missing: install the Debian package poppler-utils")
    path = tmp_path / "card.pdf"
    path.write_bytes(reply.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "考核评价 · 2025年6月" in text and "2025-06-01 — 2025-06-30" in text
    lines = text.splitlines()
    for by in ("district", "department"):
        for group in expected(seeded_services, june["tz"], by):
            line = next((ln for ln in lines if ln.split()[:1] == [group["key"]]), None)
            assert line is not None, f"{by} {group['key']} missing from the PDF"
            assert line.split()[-len(INDICATORS):] == [
                format_value(ind, group["values"][ind.key]) for ind in INDICATORS]
    assert "按期结案数 ÷ 应结案数" in text


@pytest.mark.parametrize("username", ["handler_d01", "inspector01"])
def test_other_roles_are_refused(client, seeded_services, june, username: str) -> None:
    sign_in_as(client, seeded_services, username)
    for path in ("/exports/scorecards.xlsx", "/exports/scorecards.pdf?month=2025-06"):
        reply = client.get(path)
        assert reply.status_code == 403, path
        assert reply.get_json()["error"]["code"] == "forbidden"
        assert not reply.data.startswith((b"PK", b"%PDF"))


def test_signed_out_is_refused(client, seeded_services) -> None:
    sign_in_as(client, seeded_services, None)
    reply = client.get("/exports/scorecards.xlsx")
    assert reply.status_code == 401


@pytest.mark.parametrize(("query", "code"), [
    ("month=2025-13", "bad_month"),
    ("month=June", "bad_month"),
    ("start=2025-06-01", "bad_period"),
    ("start=2025-06-31&end=2025-07-01", "bad_start"),
    ("start=2025-06-10&end=2025-06-01", "bad_range"),
    ("start=2024-01-01&end=2025-06-01", "range_too_long"),
    ("month=2025-06&start=2025-06-01&end=2025-06-02", "bad_period"),
    ("month=2025-06&by=shops", "bad_by"),
    ("by=district,,%3Cscript%3E", "bad_by"),
])
def test_bad_parameters_get_400_json(client, seeded_services, query: str, code: str) -> None:
    sign_in_as(client, seeded_services, "leader01")
    for ext in ("xlsx", "pdf"):
        reply = client.get(f"/exports/scorecards.{ext}?{query}")
        assert reply.status_code == 400, (ext, query)
        error = reply.get_json()["error"]
        assert error["code"] == code and error["message"] and error["message_zh"]


def test_no_font_is_a_clear_503(client, seeded_services, tmp_path: Path, monkeypatch) -> None:
    """A machine without a TrueType CJK font (an empty font folder stands in for it)."""
    sign_in_as(client, seeded_services, "leader01")
    monkeypatch.setattr(pdf_module, "FONT_DIRS", (str(tmp_path),))
    reply = client.get("/exports/scorecards.pdf?month=2025-06")
    assert reply.status_code == 503
    error = reply.get_json()["error"]
    assert error["code"] == "font_missing"
    assert "fonts-wqy-microhei" in error["message"] and "fonts-wqy-microhei" in error["message_zh"]
