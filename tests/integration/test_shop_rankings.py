"""Published shop scores for leaders: streets and communities ranked, red and black lists,
and the month's XLSX and PDF (``/exports/shop-scores.*``)."""

from __future__ import annotations

import io
import subprocess

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, select

from data.models import Region, Shop, ShopScore, ShopScoreMonth
from data.shop_rankings import published_months, shop_list, shop_rankings
from tests.integration.test_geo import _sign_in

MONTH = "2026-09"


@pytest.fixture
def published(seeded_services):
    """Six shops in two streets scored by hand for MONTH (removed afterwards)."""
    svc = seeded_services
    with svc.transaction() as s:
        streets = list(s.scalars(select(Region.code).where(Region.level == "street")
                                 .order_by(Region.code).limit(2)))
        shops = {street: list(s.scalars(select(Shop).where(Shop.grid_code.like(street + "%"))
                                        .order_by(Shop.code).limit(3))) for street in streets}
        s.add(ShopScoreMonth(month=MONTH, formula="test", shops=6))
        s.flush()
        scores = {streets[0]: [(100.0, 5, "red"), (90.0, 4, None), (80.0, 4, None)],
                  streets[1]: [(70.0, 3, None), (50.0, 1, "black"), (96.0, 5, "red")]}
        made = []
        for street in streets:
            for shop, (score, stars, listed) in zip(shops[street], scores[street], strict=True):
                s.add(ShopScore(month=MONTH, shop_id=shop.id, street_code=street,
                                community_code=shop.grid_code[:12], score=score,
                                grade=str(stars), stars=stars, listed=listed,
                                losses=[] if score == 100 else [
                                    {"reason": "problem", "text": "店外经营",
                                     "text_en": "Trading outside", "points": 100 - score}]))
                made.append((street, shop.code, shop.name, score, listed))
    yield streets, made
    with svc.transaction() as s:
        s.execute(delete(ShopScore).where(ShopScore.month == MONTH))
        s.execute(delete(ShopScoreMonth).where(ShopScoreMonth.month == MONTH))


def test_streets_ranked_by_their_shops_mean_and_the_lists(seeded_services, published) -> None:
    streets, made = published
    with seeded_services.session() as s:
        assert MONTH in published_months(s)
        ranked = shop_rankings(s, MONTH, "street")
        assert [(r.rank, r.code, r.shops, r.mean, r.five_star, r.red, r.black)
                for r in ranked] == [(1, streets[0], 3, 90.0, 1, 1, 0),
                                     (2, streets[1], 3, 72.0, 1, 1, 1)]
        assert all(r.name and r.name != r.code for r in ranked)  # the street's name
        communities = shop_rankings(s, MONTH, "community")
        assert sum(r.shops for r in communities) == 6
        red = shop_list(s, MONTH, listed="red")
        assert [r.score for r in red] == [100.0, 96.0]  # best first
        black = shop_list(s, MONTH, listed="black")
        assert [(r.code, r.score) for r in black] == [(made[4][1], 50.0)]
        assert black[0].losses[0]["points"] == 50.0
        assert [r.score for r in shop_list(s, MONTH, area=streets[1])] == [50.0, 70.0, 96.0]
        with pytest.raises(ValueError):
            shop_rankings(s, MONTH, "grid")


def test_the_months_workbook_and_pdf(client, published, tmp_path) -> None:
    streets, made = published
    _sign_in(client, "inspector01")
    assert client.get(f"/exports/shop-scores.xlsx?month={MONTH}").status_code == 403
    _sign_in(client, "leader01")
    assert client.get("/exports/shop-scores.xlsx?month=2026-13").status_code == 400
    missing = client.get("/exports/shop-scores.pdf?month=2020-01")
    assert missing.status_code == 404 and MONTH in missing.json["error"]["message"]
    reply = client.get(f"/exports/shop-scores.xlsx?month={MONTH}")
    assert reply.status_code == 200 and "attachment" in reply.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(reply.data))
    assert wb.sheetnames == ["说明", "街道排名", "社区排名", "红榜", "黑榜", "全部商户"]
    rows = list(wb["街道排名"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1], r[3], r[4]) for r in rows] == [(1, streets[0], 3, 90), (2, streets[1],
                                                                                  3, 72)]
    black = list(wb["黑榜"].iter_rows(min_row=2, values_only=True))
    assert black[0][0] == made[4][1] and "店外经营 −50" in black[0][7]
    assert len(list(wb["全部商户"].iter_rows(min_row=2))) == 6
    pdf = client.get(f"/exports/shop-scores.pdf?month={MONTH}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    path = tmp_path / "scores.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert f"门前三包月度评分 {MONTH}" in text and made[4][2] in text and "黑榜" in text
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                           check=True).stdout
    assert "yes" in fonts.splitlines()[2]  # the CJK font embedded
