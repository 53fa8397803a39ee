"""The big screen's shop layer (门前三包): shops coloured by their last published score, grids
by their open shop-front cases; sent only while the layer is on."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from data.bigscreen import _shops
from data.cases import SYSTEM, report_case
from data.models import Case, Shop, ShopScore, ShopScoreMonth
from layouts._bigscreen import SHOP_TRACE, STAR_COLOURS
from tests.integration.test_geo import _refresh, _sign_in


def _layer(client, digests, layer):
    import json

    from tests.integration.test_geo import REFRESH
    body = {"output": ".." + "...".join(REFRESH) + "..",
            "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in REFRESH],
            "inputs": [{"id": "bigscreen-interval", "property": "n_intervals", "value": 1},
                       {"id": "bigscreen-layer", "property": "value", "value": layer},
                       {"id": "bigscreen-selected", "property": "data", "value": None}],
            "state": [{"id": "bigscreen-digests", "property": "data", "value": digests}],
            "changedPropIds": ["bigscreen-layer.value"]}
    reply = client.post("/_dash-update-component", json=body)
    assert reply.status_code == 200, reply.data[:300]
    return json.loads(reply.data)["response"]


def _ops(patch, index):
    return {tuple(op["location"][2:]): op["params"]["value"] for op in patch["operations"]
            if op["location"][:2] == ["data", index] and op["operation"] == "Assign"}


def test_the_shop_layer_draws_scored_shops_and_grids_by_open_shop_cases(
        client, seeded_services) -> None:
    svc = seeded_services
    with svc.transaction() as s:
        shop = s.scalar(select(Shop).where(Shop.active.is_(True)).order_by(Shop.code).limit(1))
        s.add(ShopScoreMonth(month="2026-10", formula="test", shops=1))
        s.flush()
        s.add(ShopScore(month="2026-10", shop_id=shop.id, score=58.0, grade="1", stars=1,
                        listed="black"))
        case = report_case(s, svc.cases, kind="event", code="0502", actor=SYSTEM,
                           source="inspector", lon=shop.geom.x, lat=shop.geom.y,
                           shop_id=shop.id, auto=True)
        grid, code = case.grid_code, shop.code
    _shops.clear()
    try:
        _sign_in(client)
        first = _refresh(client, {}, trigger="bigscreen-interval.n_intervals")
        trace = first["bigscreen-map"]["figure"]["data"][SHOP_TRACE]
        assert trace["lon"] == [] and trace["type"] == "scattermap"  # off: nothing sent
        on = _layer(client, first["bigscreen-digests"]["data"], "shops")
        shops = _ops(on["bigscreen-map"]["figure"], SHOP_TRACE)
        with svc.session() as s:
            active = s.scalar(select(func.count()).select_from(Shop)
                              .where(Shop.active.is_(True)))
            open_shop_cases = s.scalar(select(func.count()).select_from(Case).where(
                Case.grid_code == grid, Case.shop_id.is_not(None),
                Case.status.notin_(("closed", "declined", "void"))))
        assert len(shops[("lon",)]) == active
        i = [c[1] for c in shops[("customdata",)]].index(code)
        assert shops[("marker",)]["color"][i] == STAR_COLOURS[1]
        assert shops[("marker",)]["size"][i] == 12  # black-listed: bigger
        assert "58" in shops[("customdata",)][i][2] and shops[("customdata",)][i][3] == "黑榜"
        assert STAR_COLOURS[None] in shops[("marker",)]["color"]  # the others: unscored
        grid_z = _ops(on["bigscreen-map"]["figure"], 0)[("z",)]
        codes = first["bigscreen-map"]["figure"]["data"][0]["locations"]
        assert grid_z[codes.index(grid)] == open_shop_cases >= 1
        off = _layer(client, on["bigscreen-digests"]["data"], "open")
        assert _ops(off["bigscreen-map"]["figure"], SHOP_TRACE)[("lon",)] == []
    finally:
        with svc.transaction() as s:
            s.execute(delete(ShopScore).where(ShopScore.month == "2026-10"))
            s.execute(delete(ShopScoreMonth).where(ShopScoreMonth.month == "2026-10"))
        _shops.clear()
