"""The leader scorecards (考核评价, /scorecards) as a leader uses them, in real headless Chromium:
a month picked, the table equal to data.metrics.indicators, the formula on hover, a number
clicked to list its cases, the choropleth drawn, sorting, the trend, the downloads; and a
handler refused the page and its callbacks."""

from __future__ import annotations

import os
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from cases.metrics import INDICATORS
from data.metrics import indicator_cases, indicators
from data.models import Case, Department, UnitGrid
from data.scorecards import DRILL_LIMIT
from reports.scorecard import Period, format_value, last_full_month, month_of, text
from tests.e2e.conftest import LiveApp, http_session, sign_in, wait

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshot-scorecards.png"
LEADER = "leader01"

MAP_STATE = """
const g = document.querySelector('#scorecards-map .js-plotly-plot');
if (!g || !g.data || !g._fullLayout || !g._fullLayout.map) return null;
const sub = g._fullLayout.map._subplot;
const canvas = g.querySelector('canvas.maplibregl-canvas');
if (!sub || !sub.map || !canvas || !sub.map.loaded()) return null;
const fills = sub.map.getStyle().layers.filter(l => l.id.endsWith('-fill')).map(l => l.id);
const drawn = fills.length ? sub.map.queryRenderedFeatures({layers: fills}) : [];
return {
  locations: g.data.flatMap(t => t.locations || []),
  z: g.data.length ? g.data[g.data.length - 1].z : [],
  drawn: [...new Set(drawn.map(f => String(f.id)))],
};
"""


@pytest.fixture(scope="module")
def history(live_app: LiveApp) -> dict[str, Any]:
    """About 400 cases over the last thirteen months (city time) in grids of every district,
    with departments and inspectors; the month the test picks is the one before the last
    full month (the page opens on the last full month)."""
    services = live_app.services
    tz = services.cases.calendar.tz
    today = datetime.now(tz).date()
    picked = month_of(last_full_month(today).first - timedelta(days=1))
    rng = random.Random(42)
    with services.transaction() as s:
        grids = list(s.execute(select(UnitGrid.code, UnitGrid.inspector_id)
                               .order_by(UnitGrid.code)))
        by_district: dict[str, list] = {}
        for grid in grids:
            by_district.setdefault(grid[0][:6], []).append(grid)
        chosen = [g for items in by_district.values() for g in rng.sample(items, 30)]
        depts = list(s.scalars(select(Department.id).order_by(Department.code)))
        first = datetime.combine(month_of(today).first, datetime.min.time(), tz) \
            - timedelta(days=365)
        span = (datetime.now(tz) - first).total_seconds()
        for i in range(400):
            grid, inspector = chosen[i % len(chosen)]
            reported = first + timedelta(seconds=rng.uniform(0, span - 86400))
            row = Case(code=f"SC{i:05d}", source=rng.choice(("inspector", "camera", "sensor")),
                       category_kind="event", category_code="0503", status="reported",
                       title=f"考核演示案件 {i}", grid_code=grid, inspector_id=inspector,
                       reported_at=reported, updated_at=reported,
                       overdue_count=int(rng.random() < 0.12))
            if rng.random() < 0.12:
                row.status = "declined"
                row.decline_reason = rng.choice(("invalid", "duplicate"))
            elif rng.random() < 0.92:
                registered = reported + timedelta(minutes=rng.uniform(5, 120))
                dispatched = registered + timedelta(minutes=rng.uniform(5, 120))
                handled = dispatched + timedelta(hours=rng.lognormvariate(2.2, 0.8))
                row.registered_at, row.dispatched_at = registered, dispatched
                row.department_id = rng.choice(depts)
                row.dispatched_on_time = rng.random() < 0.9
                row.handle_deadline_at = dispatched + timedelta(hours=24)
                row.handled_at, row.handled_on_time = handled, handled <= row.handle_deadline_at
                row.close_deadline_at = dispatched + timedelta(hours=40)
                row.rework_count = int(rng.random() < 0.08)
                row.extension_count = int(rng.random() < 0.05)
                row.status = "handled"
                if rng.random() < 0.9:
                    row.status = "closed"
                    row.closed_at = handled + timedelta(hours=rng.uniform(0.5, 20))
                    row.closed_on_time = row.closed_at <= row.close_deadline_at
            s.add(row)
    return {"tz": tz, "picked": picked}


def expected(live_app: LiveApp, period: Period, by: str) -> dict[str, dict[str, str]]:
    """What the table must show: key → indicator → text, from data.metrics.indicators."""
    start, end = period.bounds(live_app.services.cases.calendar.tz)
    with live_app.services.session() as s:
        rows = indicators(s, None, start=start, end=end, by=by)
    return {r["key"]: {ind.key: format_value(ind, r["values"][ind.key]) for ind in INDICATORS}
            for r in rows}


def shown(driver: WebDriver) -> dict[str, dict[str, str]]:
    """The table's cells by row key and column (read in one go: React may re-render)."""
    return driver.execute_script("""
        const out = {};
        for (const tr of document.querySelectorAll('#scorecards-table tr[data-key]')) {
          const cells = {};
          for (const td of tr.querySelectorAll('td.og-sc-num')) {
            cells[td.dataset.col] = td.innerText.trim();
          }
          out[tr.dataset.key] = cells;
        }
        return out;""")


def row_order(driver: WebDriver) -> list[str]:
    return driver.execute_script("return [...document.querySelectorAll("
                                 "'#scorecards-table tr[data-key]')].map(t => t.dataset.key);")


def open_month(browser: WebDriver, live_app: LiveApp, period: Period, by: str = "district",
               user: str = LEADER) -> dict[str, dict[str, str]]:
    """Sign in, open the page, pick ``period``'s month and ``by``; wait for the table."""
    sign_in(browser, live_app.base, user)
    browser.get(live_app.base + "/scorecards")
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                                  "#scorecards-table tr[data-key]"))
    Select(browser.find_element(By.ID, "scorecards-month")).select_by_value(period.month)
    if by != "district":
        label = text(f"by.{by}", "zh-CN")
        browser.find_element(By.XPATH, f"//*[@id='scorecards-by']//label[.='{label}']").click()
    want = expected(live_app, period, by)
    assert len(want) >= 3, "the test's cases should give several groups"
    wait(browser).until(lambda d: d.find_element(By.ID, "scorecards-period").text
                        .startswith(period.label("zh-CN") + " · " + text(f"by.{by}", "zh-CN")))
    return want


def test_leader_sees_the_picked_month_equal_to_the_indicators(live_app: LiveApp, history,
                                                              browser: WebDriver) -> None:
    picked = history["picked"]
    want = open_month(browser, live_app, picked)
    wait(browser).until(lambda d: shown(d) == want,
                        message=f"table {shown(browser)} != indicators {want}")
    # Rates are percentages, times hours: at least one of each is a number here.
    cells = shown(browser)
    assert any(c["on_time_closure_rate"].endswith("%") for c in cells.values())
    assert any(c["mean_handling_hours"].replace(".", "").isdigit() for c in cells.values())
    # The formula on hover, from INDICATORS.
    for ind in INDICATORS:
        th = browser.find_element(By.CSS_SELECTOR, f"#scorecards-table th[data-col='{ind.key}']")
        assert th.get_attribute("title") == f"{ind.name_zh} = {ind.formula_zh}"
    # The downloads are for that month.
    xlsx = browser.find_element(By.ID, "scorecards-xlsx").get_attribute("href")
    pdf = browser.find_element(By.ID, "scorecards-pdf").get_attribute("href")
    span = f"start={picked.first.isoformat()}&end={picked.last.isoformat()}"
    assert xlsx.endswith(f"/exports/scorecards.xlsx?{span}")
    assert pdf.endswith(f"/exports/scorecards.pdf?{span}&by=district")
    session = http_session(live_app.base, LEADER)
    assert session.get(xlsx, timeout=30).content[:2] == b"PK"
    assert session.get(pdf, timeout=30).content[:5] == b"%PDF-"


def test_clicking_a_count_lists_the_cases_behind_it(live_app: LiveApp, history,
                                                   browser: WebDriver) -> None:
    picked = history["picked"]
    want = open_month(browser, live_app, picked)
    wait(browser).until(lambda d: shown(d) == want)
    key = max(want, key=lambda k: int(want[k]["reports"]))
    browser.find_element(
        By.CSS_SELECTOR, f"#scorecards-table tr[data-key='{key}'] "
                         "td[data-col='reports'] button").click()
    start, end = picked.bounds(history["tz"])
    with live_app.services.session() as s:
        ids = list(s.scalars(indicator_cases(s, start=start, end=end, by="district", key=key,
                                             indicator="reports")))
    assert len(ids) == int(want[key]["reports"]) > 0

    def listed(d: WebDriver) -> list[str]:
        return d.execute_script("return [...document.querySelectorAll("
                                "'#scorecards-drill a.og-sc-case-link')].map(a => a.href);")

    first = ids[:DRILL_LIMIT]  # the demo city's own history may put more behind a number
    wait(browser).until(lambda d: len(listed(d)) == len(first),
                        message=f"the drill-down should list {len(first)} cases")
    assert listed(browser) == [f"{live_app.base}/cases/{i}" for i in first]
    assert browser.find_element(By.ID, "scorecards-drill-total").text == f"共 {len(ids)} 件"
    more = browser.find_element(By.ID, "scorecards-drill").text
    assert (f"仅列出前 {DRILL_LIMIT} 件" in more) == (len(ids) > DRILL_LIMIT)
    # A case link opens that case's page.
    browser.find_element(By.CSS_SELECTOR, "#scorecards-drill a.og-sc-case-link").click()
    wait(browser).until(lambda d: d.current_url == f"{live_app.base}/cases/{first[0]}")


def test_choropleth_and_ranking_follow_the_indicator(live_app: LiveApp, history,
                                                     browser: WebDriver) -> None:
    picked = history["picked"]
    want = open_month(browser, live_app, picked)
    state: dict[str, Any] = {}

    def drawn(d: WebDriver) -> bool:
        state.clear()
        state.update(d.execute_script(MAP_STATE) or {})
        return (set(state.get("locations", ())) == set(want)
                and set(state["drawn"]) == set(want))

    wait(browser).until(drawn, message=f"the choropleth never drew {sorted(want)}: {state}")
    Select(browser.find_element(By.ID, "scorecards-indicator")).select_by_value("reports")
    reports = {k: int(v["reports"]) for k, v in want.items()}
    wait(browser).until(lambda d: drawn(d) and sorted(state["z"]) == sorted(reports.values()))
    best = max(reports, key=lambda k: (reports[k], -int(k)))
    wait(browser).until(lambda d: d.execute_script(
        "const li = document.querySelector('#scorecards-ranking-best li');"
        "return li && li.dataset.key;") == best)


def test_sorting_and_the_trend(live_app: LiveApp, history, browser: WebDriver) -> None:
    picked = history["picked"]
    want = open_month(browser, live_app, picked, by="inspector")
    wait(browser).until(lambda d: shown(d) == {k: v for k, v in list(sorted(want.items()))[:20]})
    browser.find_element(By.CSS_SELECTOR, "th[data-col='reports'] button").click()
    by_reports = sorted(want, key=lambda k: (-int(want[k]["reports"]), k))
    wait(browser).until(lambda d: row_order(d) == by_reports[:20],
                        message="clicking 上报数 should sort by reports, most first")
    trend = browser.execute_script  # the trend's x axis: twelve months ending with the pick
    wait(browser).until(lambda d: (trend(
        "const g = document.querySelector('#scorecards-trend .js-plotly-plot');"
        "return g && g.data && g.data[0].x;") or [])[-1:] == [picked.month])
    xs = trend("return document.querySelector('#scorecards-trend .js-plotly-plot').data[0].x;")
    assert len(xs) == 12


def test_screenshot_of_the_demo_city(live_app: LiveApp, history, browser: WebDriver,
                                     tmp_path: Path) -> None:
    picked = history["picked"]
    want = open_month(browser, live_app, picked, by="street")
    wait(browser).until(lambda d: shown(d) == {k: v for k, v in list(sorted(want.items()))[:20]})
    wait(browser).until(lambda d: (d.execute_script(MAP_STATE) or {}).get("drawn"))
    wait(browser).until(lambda d: d.execute_script(
        "const g = document.querySelector('#scorecards-trend .js-plotly-plot');"
        "return g && g.data && g.data.length > 0;"))
    shot = browser.get_screenshot_as_png()
    (tmp_path / SCREENSHOT.name).write_bytes(shot)
    if os.environ.get("ONEGRID_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.write_bytes(shot)


LOAD = {
    "output": "..scorecards-query.data...scorecards-period.children...scorecards-message."
              "children...scorecards-xlsx.href...scorecards-pdf.href...scorecards-trend-scope."
              "options...scorecards-trend-scope.value..",
    "outputs": [{"id": "scorecards-query", "property": "data"},
                {"id": "scorecards-period", "property": "children"},
                {"id": "scorecards-message", "property": "children"},
                {"id": "scorecards-xlsx", "property": "href"},
                {"id": "scorecards-pdf", "property": "href"},
                {"id": "scorecards-trend-scope", "property": "options"},
                {"id": "scorecards-trend-scope", "property": "value"}],
    "changedPropIds": ["scorecards-month.value"],
}


def load_request(month: str, by: str = "district") -> dict[str, Any]:
    inputs = [{"id": "scorecards-mode", "property": "value", "value": "month"},
              {"id": "scorecards-month", "property": "value", "value": month},
              {"id": "scorecards-start", "property": "value", "value": None},
              {"id": "scorecards-end", "property": "value", "value": None},
              {"id": "scorecards-by", "property": "value", "value": by}]
    return {**LOAD, "inputs": inputs}


def test_a_handler_is_refused_the_page_and_its_callbacks(live_app: LiveApp, history) -> None:
    session = http_session(live_app.base, "handler_d01")
    page = session.get(live_app.base + "/scorecards", headers={"Accept": "text/html"},
                       timeout=10)
    assert page.status_code == 403
    reply = session.post(live_app.base + "/_dash-update-component",
                         json=load_request(history["picked"].month), timeout=10)
    assert reply.status_code == 403
    assert "scorecards-query" not in reply.text
    assert session.get(live_app.base + "/exports/scorecards.xlsx", timeout=10).status_code == 403
    # The same request from a leader is answered.
    leader = http_session(live_app.base, LEADER)
    ok = leader.post(live_app.base + "/_dash-update-component",
                     json=load_request(history["picked"].month), timeout=30)
    assert ok.status_code == 200 and ok.json()["response"]["scorecards-query"]["data"]["by"] \
        == "district"


def test_hand_made_bad_values_get_a_message(live_app: LiveApp, history) -> None:
    leader = http_session(live_app.base, LEADER)
    for month, by in (("2025-13", "district"), ("2025-06", "shops")):
        reply = leader.post(live_app.base + "/_dash-update-component",
                            json=load_request(month, by), timeout=30)
        assert reply.status_code == 200
        response = reply.json()["response"]
        assert set(response) == {"scorecards-message"}, response
        assert "无法显示" in str(response["scorecards-message"])


def test_shop_scores_of_a_published_month_ranked_with_their_lists(
        live_app: LiveApp, browser: WebDriver) -> None:
    """A month of shop scores published (rows written as the freeze writes them): the streets
    ranked by their shops' mean, the red and black lists, by community on a click."""
    from collections import defaultdict

    from sqlalchemy import delete

    from data.models import Shop, ShopScore, ShopScoreMonth

    month = "2026-08"
    rng = random.Random(6)
    by_street: dict[str, list[float]] = defaultdict(list)
    communities: set[str] = set()
    with live_app.services.transaction() as s:
        shops = list(s.scalars(select(Shop).where(Shop.grid_code.is_not(None))))
        s.add(ShopScoreMonth(month=month, formula="test", shops=len(shops)))
        s.flush()
        for shop in shops:
            score = float(rng.randint(40, 100))
            listed = "red" if score >= 99 else "black" if score < 45 else None
            s.add(ShopScore(month=month, shop_id=shop.id, street_code=shop.grid_code[:9],
                            community_code=shop.grid_code[:12], score=score, grade="",
                            stars=max(1, min(5, int(score // 20))), listed=listed,
                            losses=[{"reason": "x", "text": "店外经营", "text_en": "Outside",
                                     "points": 100 - score}] if score < 100 else []))
            by_street[shop.grid_code[:9]].append(score)
            communities.add(shop.grid_code[:12])
    try:
        best = max(by_street, key=lambda k: (sum(by_street[k]) / len(by_street[k]),
                                             len(by_street[k])))
        sign_in(browser, live_app.base, LEADER)
        browser.get(live_app.base + "/scorecards")
        pick = wait(browser).until(lambda d: d.find_element(By.ID, "scorecards-shop-month"))
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", pick)
        Select(pick).select_by_value(month)  # the demo publishes its own last month too
        rows = "#scorecards-shop-table tbody tr"
        wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, rows))
                            == len(by_street), message="the streets never showed")
        first = browser.find_element(By.CSS_SELECTOR, rows).text
        assert best in first, (best, first)
        red = browser.find_elements(By.CSS_SELECTOR, "#scorecards-shop-red li")
        black = browser.find_elements(By.CSS_SELECTOR, "#scorecards-shop-black li")
        assert red and black and len(red) <= 11 and "店外经营" in black[0].text
        href = browser.find_element(By.ID, "scorecards-shop-xlsx").get_attribute("href")
        assert href.endswith(f"/exports/shop-scores.xlsx?month={month}")
        assert http_session(live_app.base, LEADER).get(href, timeout=30).content[:2] == b"PK"
        label = browser.find_element(By.XPATH, "//*[@id='scorecards-shop-by']//label[.='按社区']")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});"
                               "arguments[0].click()", label)
        wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, rows))
                            == len(communities), message="the communities never showed")
    finally:
        with live_app.services.transaction() as s:
            s.execute(delete(ShopScore).where(ShopScore.month == month))
            s.execute(delete(ShopScoreMonth).where(ShopScoreMonth.month == month))
