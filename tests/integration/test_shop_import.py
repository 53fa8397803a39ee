"""The shop registry import (data/shop_registry.py) on the demo city, SQLite and PostgreSQL:
CSV and XLSX files with bad rows, re-runs that update, QR tokens revoked and reissued."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from data.models import Shop, ShopToken, User
from data.shop_registry import find_by_token, import_shop_file, revoke_token, shop_by_code
from shops.registry import USCC_CHARS, USCC_WEIGHTS, zone_size
from shops.tokens import is_token_format

HEADER_ZH = ["店名", "营业执照号", "地址", "负责人", "联系电话", "经度", "纬度", "责任区",
             "门前进深(米)"]
# Places inside the demo city (near demo shops on 新兴大道), and one far outside it.
IN_CITY = [(112.4500, 23.0330), (112.4510, 23.0331), (112.4520, 23.0332), (112.4530, 23.0333)]
ZONE_WKT = ("POLYGON((112.45195 23.03315, 112.45205 23.03315, 112.45205 23.0332, "
            "112.45195 23.0332, 112.45195 23.03315))")


def uscc(serial: str) -> str:
    """A unified social credit code with a right check character (``serial``: 6 characters
    from the code's alphabet; the organisation check character is not verified)."""
    head = "92449902MA" + serial + "0"
    total = sum(w * USCC_CHARS.index(c) for w, c in zip(USCC_WEIGHTS, head, strict=True))
    return head + USCC_CHARS[(31 - total % 31) % 31]


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([HEADER_ZH, *rows])
    return path


def test_csv_bad_rows_reported_good_rows_imported_and_a_rerun_updates(
        seeded_services, tmp_path) -> None:
    tag = "C1"
    lic_a, lic_b = uscc("CA0A01"), uscc("CB0B02")
    with seeded_services.session() as session:
        demo = session.scalar(select(Shop).where(Shop.code == "S00000002"))
        demo_licence, demo_lon, demo_lat = demo.licence_no, demo.geom.x, demo.geom.y
        shops_before = count(session, Shop)
    rows = [
        [f"新店甲{tag}", lic_a, "新兴大道100号", "张三", "13900001111", *map(str, IN_CITY[0]),
         "", "4"],                                                               # 2 created
        [f"新店乙{tag}", lic_b, "新兴大道102号", "李四", "0758-2231234", "", "", ZONE_WKT,
         ""],                                                                    # 3 zone only
        ["坏电话", "", "x", "y", "12345", *map(str, IN_CITY[1]), "", ""],          # 4 phone
        ["城外", "", "x", "y", "", "100.0", "30.0", "", ""],                       # 5 no grid
        ["没位置", "", "", "y", "", "", "", "", ""],                                # 6 nowhere
        ["新时代电动车维修", demo_licence, "新兴大道3号", "黎怡", "13800002222",
         str(demo_lon), str(demo_lat), "", ""],                                 # 7 updated
        [f"无照小店{tag}", "", "新兴大道104号", "王五", "", *map(str, IN_CITY[3]), "", ""],  # 8
    ]
    path = write_csv(tmp_path / "shops.csv", rows)

    with seeded_services.transaction() as session:
        dry = import_shop_file(session, path, dry_run=True)
    assert [r.line for r in dry.created] == [2, 3, 8] and dry.failed_lines == [4, 5, 6]
    with seeded_services.session() as session:
        assert count(session, Shop) == shops_before  # the dry run wrote nothing

    with seeded_services.transaction() as session:
        report = import_shop_file(session, path)
    assert [r.line for r in report.created] == [2, 3, 8]
    assert [(r.line, r.code) for r in report.updated] == [(7, "S00000002")]
    assert report.failed_lines == [4, 5, 6]
    reasons = {e.line: e for e in report.failed}
    assert reasons[4].column == "owner_phone" and "电话" in reasons[4].zh
    assert "outside every unit grid" in reasons[5].en and "网格" in reasons[5].zh
    assert "location" in reasons[6].en
    assert "line 4" in report.summary() and "失败 3 行" in report.summary()

    with seeded_services.session() as session:
        assert count(session, Shop) == shops_before + 3
        a = shop_by_code(session, report.created[0].code)
        b = shop_by_code(session, report.created[1].code)
        assert a.licence_no == lic_a and a.owner_phone == "13900001111" and a.frontage_m == 4
        assert a.grid_code and a.grid_code.startswith("4499")
        assert zone_size(a.zone)[1] == pytest.approx(4.0, abs=0.05)  # default zone, 4 m deep
        assert b.zone.equals_exact(b.zone, 0) and b.zone.contains(b.geom)  # its own polygon
        assert b.frontage_m is None and b.grid_code
        for shop in (a, b):
            assert is_token_format(shop.qr_token) and len(shop.qr_token) >= 32
            assert session.get(ShopToken, shop.qr_token).shop_id == shop.id
        assert a.code != b.code and a.code.startswith("S")
        demo = shop_by_code(session, "S00000002")
        assert demo.owner_phone == "13800002222"

    # The same file again: nothing new, nothing duplicated, every good row unchanged.
    with seeded_services.transaction() as session:
        again = import_shop_file(session, path)
    assert again.created == [] and again.updated == []
    assert [r.line for r in again.unchanged] == [2, 3, 7, 8]
    # One change: a new address for the licensed shop, a new phone for the unlicensed one.
    rows[0][2] = "新兴大道100-1号"
    rows[6][4] = "13700003333"
    write_csv(path, rows)
    with seeded_services.transaction() as session:
        third = import_shop_file(session, path)
    assert [r.line for r in third.updated] == [2, 8] and third.created == []
    with seeded_services.session() as session:
        assert count(session, Shop) == shops_before + 3
        assert session.scalar(select(func.count()).select_from(Shop)
                              .where(Shop.licence_no == lic_a)) == 1
        assert shop_by_code(session, report.created[0].code).address == "新兴大道100-1号"
        assert shop_by_code(session, report.created[2].code).owner_phone == "13700003333"


def test_xlsx_with_numeric_cells_and_english_headers(seeded_services, tmp_path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["name", "licence_no", "address", "owner_phone", "lon", "lat", "frontage_m"])
    lic = uscc("XC0C03")
    sheet.append(["Xlsx Tea", lic, "新兴大道106号", 13912345678, IN_CITY[2][0], IN_CITY[2][1],
                  3])
    sheet.append(["Bad licence", "92449902MA0000000Z", "x", None, IN_CITY[2][0], IN_CITY[2][1],
                  None])
    sheet.append(["Too deep", None, "x", None, IN_CITY[2][0], IN_CITY[2][1], 99])
    path = tmp_path / "shops.xlsx"
    book.save(path)
    with seeded_services.transaction() as session:
        report = import_shop_file(session, path)
    assert [r.line for r in report.created] == [2]
    assert report.failed_lines == [3, 4]
    by_line = {e.line: e for e in report.failed}
    assert by_line[3].column == "licence_no" and by_line[4].column == "frontage_m"
    with seeded_services.session() as session:
        shop = shop_by_code(session, report.created[0].code)
        assert shop.owner_phone == "13912345678" and shop.licence_no == lic
    with seeded_services.transaction() as session:
        again = import_shop_file(session, path)
    assert again.created == [] and [r.line for r in again.unchanged] == [2]


def test_revoke_keeps_the_old_token_as_revoked_and_issues_a_current_one(
        seeded_services) -> None:
    with seeded_services.transaction() as session:
        shop = shop_by_code(session, "S00000010")
        admin = session.scalar(select(User).where(User.username == "admin"))
        old = shop.qr_token
        assert find_by_token(session, old).status == "current"
        new = revoke_token(session, shop, admin)
        assert new != old and is_token_format(new)
    with seeded_services.session() as session:
        found_old = find_by_token(session, old)
        found_new = find_by_token(session, new)
        assert found_old.status == "revoked" and found_old.shop.code == "S00000010"
        assert found_new.status == "current" and found_new.shop.code == "S00000010"
        record = session.get(ShopToken, old)
        assert record.revoked_at is not None and record.revoked_by == admin.id
        assert session.get(ShopToken, new).revoked_at is None
        assert shop_by_code(session, "S00000010").qr_token == new
        assert find_by_token(session, "A" * 32) is None  # well-formed, unknown
        assert find_by_token(session, "../../etc/passwd") is None
    with seeded_services.transaction() as session:  # twice: both older ones stay revoked
        newest = revoke_token(session, shop_by_code(session, "S00000010"))
    with seeded_services.session() as session:
        assert find_by_token(session, new).status == "revoked"
        assert find_by_token(session, newest).status == "current"
        assert session.scalar(select(func.count()).select_from(ShopToken).where(
            ShopToken.shop_id == found_old.shop.id)) == 3
