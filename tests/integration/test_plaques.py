"""Responsibility plaques (reports/plaques.py) for a street of the demo city, on SQLite and
PostgreSQL: one A5 page per shop, the CJK font embedded (poppler's ``pdffonts``), and every
page's QR code, rendered by ``pdftoppm -r 150`` and read by a standard decoder (zxing-cpp),
leading to ``{public_url}/s/<that shop's current token>``. Then the admin download route and
the command line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from data.models import Shop
from data.shop_registry import plaques_for_street, revoke_token, shop_by_code
from reports.plaques import build_plaques
from tests.integration.test_geo import _sign_in

STREET = "449903003"  # the demo city's street with the fewest shops
ROOT = Path(__file__).resolve().parents[2]


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} missing: install the Debian package poppler-utils")
    return path


def _street_shops(services) -> list[tuple[str, str]]:
    with services.session() as session:
        return list(session.execute(
            select(Shop.code, Shop.qr_token)
            .where(Shop.grid_code.like(f"{STREET}%"), Shop.active.is_(True))
            .order_by(Shop.code)).all())


def _page(pdf: Path, number: int, out: Path) -> Path:
    stem = out / f"page{number}"
    subprocess.run([_poppler("pdftoppm"), "-r", "150", "-png", "-singlefile", "-f", str(number),
                    "-l", str(number), str(pdf), str(stem)], check=True, timeout=120)
    return stem.with_suffix(".png")


def _decode(png: Path) -> list[str]:
    with Image.open(png) as image:
        return [b.text for b in zxingcpp.read_barcodes(image)
                if b.format == zxingcpp.BarcodeFormat.QRCode]


def test_one_a5_plaque_per_shop_with_the_font_embedded_and_readable_qr_codes(
        seeded_services, tmp_path) -> None:
    settings = seeded_services.settings
    with seeded_services.transaction() as session:  # a revoked code must not be printed
        revoke_token(session, shop_by_code(session, _street_shops(seeded_services)[0][0]))
    shops = _street_shops(seeded_services)
    assert len(shops) > 10
    with seeded_services.session() as session:
        sheet = plaques_for_street(session, STREET)
    assert [p.code for p in sheet.plaques] == [code for code, _ in shops]
    data = build_plaques(sheet, public_url=settings.public_url, hotline=settings.hotline)
    pdf = tmp_path / "plaques.pdf"
    pdf.write_bytes(data)

    info = subprocess.run([_poppler("pdfinfo"), str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) == len(shops)
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert (round(float(size.group(1))), round(float(size.group(2)))) == (420, 595)  # A5
    fonts = subprocess.run([_poppler("pdffonts"), str(pdf)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert fonts and all(" yes yes yes " in line for line in fonts), fonts  # all embedded
    assert any("WenQuanYi" in line or "Noto" in line or "CJK" in line for line in fonts)
    text = subprocess.run([_poppler("pdftotext"), "-f", "1", "-l", "1", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "门前三包责任牌" in text and sheet.plaques[0].name in text
    assert f"监督举报电话：{settings.hotline}" in text and "包环境卫生" in text
    assert "城市管理局" in text and sheet.street_name in text

    # The first pages (the first shop's code was just replaced) and the last ones: rendering
    # every page costs seconds and adds nothing the page order does not already show.
    for number in (1, 2, 3, len(shops) - 1, len(shops)):
        code, token = shops[number - 1]
        assert _decode(_page(pdf, number, tmp_path)) == [f"{settings.public_url}/s/{token}"], \
            code


def test_admin_and_command_download_a_streets_plaques_others_may_not(
        client, seeded_services) -> None:
    client.get("/logout")
    assert client.get(f"/exports/plaques.pdf?street={STREET}").status_code == 401
    for user in ("inspector01", "leader01"):
        _sign_in(client, user)
        reply = client.get(f"/exports/plaques.pdf?street={STREET}")
        assert reply.status_code == 403 and reply.json["error"]["code"] == "forbidden"
    _sign_in(client, "admin")
    assert client.get("/exports/plaques.pdf?street=abc").status_code == 400
    missing = client.get("/exports/plaques.pdf?street=449999999")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "unknown_street"
    reply = client.get(f"/exports/plaques.pdf?street={STREET}")
    assert reply.status_code == 200 and reply.mimetype == "application/pdf"
    assert reply.data.startswith(b"%PDF-")
    assert reply.headers["X-Plaque-Count"] == str(len(_street_shops(seeded_services)))
    assert "plaques-449903003.pdf" in reply.headers["Content-Disposition"]
    _sign_in(client, "command01")
    assert client.get(f"/exports/plaques.pdf?street={STREET}").status_code == 200


def _cli(args: list[str], db_url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEGRID_")}
    env.update(ONEGRID_DB_URL=db_url, ONEGRID_VAR_DIR=str(tmp_path / "var"),
               ONEGRID_SEED_DEMO="never", ONEGRID_LOG_LEVEL="WARNING")
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], capture_output=True,
                          text=True, env=env, timeout=300, cwd=tmp_path)


def test_command_line_import_revoke_and_plaques(seeded_services, tmp_path) -> None:
    url = seeded_services.settings.db_url
    if not url.startswith("sqlite"):
        pytest.skip("the command line is the same on either database: run once, on SQLite")
    shops = tmp_path / "shops.csv"
    shops.write_text("店名,联系电话,经度,纬度\n命令行小店,13900009999,112.4530,23.0333\n"
                     "坏店,1,112.4530,23.0333\n", encoding="utf-8")
    out = _cli(["shops", "import", str(shops)], url, tmp_path)
    assert out.returncode == 1, out.stderr  # one row failed, the good one imported
    assert "1 created" in out.stdout and "line 3 [owner_phone]" in out.stdout

    with seeded_services.session() as session:
        code = session.scalar(select(Shop.code).where(Shop.name == "命令行小店"))
        old = shop_by_code(session, code).qr_token
    revoked = _cli(["shops", "revoke", code, "--by", "admin"], url, tmp_path)
    assert revoked.returncode == 0, revoked.stderr
    with seeded_services.session() as session:
        new = shop_by_code(session, code).qr_token
    assert new != old and f"/s/{new}" in revoked.stdout

    printed = _cli(["plaques", "--street", STREET, "--out", "p/plaques.pdf"], url, tmp_path)
    assert printed.returncode == 0, printed.stderr
    count = len(_street_shops(seeded_services))
    assert f"{count} plaques" in printed.stdout and (tmp_path / "p/plaques.pdf").is_file()
    unknown = _cli(["plaques", "--street", "449999999"], url, tmp_path)
    assert unknown.returncode == 2 and "no street" in unknown.stderr
