"""Pure builders of the desk and the case page (layouts/desk.py, layouts/case.py) and the step
outcome rule of data.case_views, on hand-made read-model values: no database, no browser."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import dash
import plotly
import pytest

from data.case_views import step_outcome

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
GRID = {"code": "449902001001001", "name": "一号网格", "inspector": "张三",
        "geometry": {"type": "Polygon", "coordinates": [[[112.0, 23.0], [112.001, 23.0],
                                                         [112.001, 23.001], [112.0, 23.001],
                                                         [112.0, 23.0]]]}}
PLACE = {"grid": GRID, "district": {"code": "449902", "zh": "端州区", "en": "Duanzhou"},
         "street": {"code": "449902001", "zh": "城东街道", "en": "Chengdong"},
         "community": None}


@pytest.fixture(scope="module")
def pages():
    """The page modules need a Dash app with pages to register with (none is served)."""
    try:
        dash.get_app()
    except Exception:
        dash.Dash(__name__, use_pages=True, pages_folder="")
    from layouts import case, desk

    return case, desk


def summary(case_id: int = 7, **kw) -> dict:
    item = {"id": case_id, "code": f"20260305{case_id:06d}", "status": "reported",
            "status_label": {"zh": "上报", "en": "Reported"}, "category": "event:0503",
            "category_name": {"zh": "非机动车乱停放", "en": "Disorderly parked bikes"},
            "urgency": "normal", "urgency_label": {"zh": "一般", "en": "Normal"},
            "title": "非机动车乱停放", "source": "camera", "grid_code": GRID["code"],
            "department": None, "lon": 112.0005, "lat": 23.0005,
            "reported_at": (NOW - timedelta(minutes=90)).isoformat(), "deadline_at": None,
            "light": "yellow", "seen_count": 3, "rework_count": 0, "supervised": False}
    item.update(kw)
    return item


def to_json(component) -> str:
    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


@pytest.mark.parametrize(("done", "due", "running", "expected"), [
    (NOW - timedelta(hours=1), NOW, False, "met"),
    (NOW + timedelta(hours=1), NOW, False, "missed"),
    (None, NOW + timedelta(hours=1), True, "pending"),
    (None, NOW - timedelta(seconds=1), True, "overdue"),
    (NOW - timedelta(hours=2), NOW - timedelta(hours=1), True, "overdue"),  # rework: again
    (None, NOW - timedelta(hours=1), False, None),  # stopped undone (declined, void)
    (NOW, None, False, None),
])
def test_step_outcome(done, due, running, expected) -> None:
    assert step_outcome(done, due, NOW, running=running) == expected


def test_parse_case_id_refuses_anything_but_a_positive_number(pages) -> None:
    case, _ = pages
    assert case.parse_case_id("42") == 42 and case.parse_case_id(42) == 42
    for bad in ("abc", "4 2", "-1", "0", "", None, True, 1.5, {"id": 1}, "٤٢", "9" * 30):
        assert case.parse_case_id(bad) is None, bad


def test_local_time_is_the_city_time(pages) -> None:
    case, _ = pages
    assert case.local_time(NOW.isoformat(), TZ) == "2026-03-05 10:00"
    assert case.local_time(None, TZ) == "—"


def test_list_items_mark_light_selection_and_overflow(pages) -> None:
    _, desk = pages
    items = [summary(1, light="red"), summary(2, light=None, supervised=True)]
    out = desk.list_items(items, 5, 2, "zh-CN", TZ, NOW)
    assert [o.id for o in out[:2]] == [{"type": "desk-item", "id": 1},
                                       {"type": "desk-item", "id": 2}]
    assert "active" in out[1].className and "active" not in out[0].className
    text = to_json(out)
    assert "og-dot-red" in text and "og-dot-none" in text and "1 小时" in text
    assert "共 5 件" in text  # 2 shown of 5
    assert "当前没有案件" in to_json(desk.list_items([], 0, None, "zh-CN", TZ, NOW))


def test_evidence_panel_builds_every_part(pages) -> None:
    _, desk = pages
    ev = summary(9, description="占用盲道",
                 register_condition={"zh": "未在划定区域停放", "en": "Outside bays"},
                 photos=[{"sha256": "ab" * 32, "at": NOW.isoformat(), "action": "report"}],
                 place=PLACE,
                 readings={"component": {"id": 1, "code": "4499020101000001", "name": "井盖",
                                         "type_name": {"zh": "上水井盖", "en": "Cover"}},
                           "metrics": {"tilt_deg": {"unit": "°", "type": "number"},
                                       "lamp_on": {"type": "bool"}},
                           "trigger": NOW.isoformat(),
                           "points": [{"ts": (NOW - timedelta(minutes=m)).isoformat(),
                                       "metrics": {"tilt_deg": 20 - m, "lamp_on": True}}
                                      for m in (20, 10, 0)]},
                 similar=[summary(10, status="registered", matched_by="distance",
                                  distance_m=12.3, status_label={"zh": "立案", "en": "Reg"})])
    text = to_json(desk.evidence_panel(ev, "zh-CN", TZ))
    for part in ("/media/" + "ab" * 32, "desk-readings", "desk-map", "desk-similar",
                 "/cases/10", "12 m", "端州区", "未在划定区域停放", "倾斜 (°)"):
        assert part in text, part
    english = to_json(desk.evidence_panel(ev, "en", TZ))
    assert "Tilt (°)" in english and "Duanzhou" in english


def test_readings_figure_has_a_line_per_metric_and_the_trigger(pages) -> None:
    _, desk = pages
    readings = {"metrics": {"tilt_deg": {"unit": "°"}, "water_level_cm": {"unit": "cm"}},
                "trigger": NOW.isoformat(),
                "points": [{"ts": NOW.isoformat(), "metrics": {"tilt_deg": 17.5}}]}
    fig = desk.readings_figure(readings, "zh-CN", TZ)
    assert [d["name"] for d in fig["data"]] == ["倾斜 (°)"]  # water level: no values
    assert fig["data"][0]["x"] == ("2026-03-05 10:00:00",) or \
        list(fig["data"][0]["x"]) == ["2026-03-05 10:00:00"]
    assert fig["layout"]["shapes"][0]["x0"] == "2026-03-05 10:00:00"


def test_action_panel_options(pages) -> None:
    _, desk = pages
    depts = [{"code": "D05", "zh": "执法支队", "en": "Enforcement"},
             {"code": "D06", "zh": "交通运输局", "en": "Transport"}]
    options = desk.department_options(depts, "D05", "zh-CN")
    assert options[0] == {"label": "D05 执法支队（建议）", "value": "D05"}
    assert options[1]["label"] == "D06 交通运输局"
    merge = desk.merge_options([summary(10, distance_m=12.34)], "en")
    assert merge == [{"label": "20260305000010 · Reported · 12 m", "value": "10"}]
    assert [o["value"] for o in desk.reason_options("zh-CN")] == ["duplicate", "not_our_duty",
                                                                 "invalid"]
    assert "og-desk-refused" in to_json(desk.result_message(False, "x"))
    assert [o["value"] for o in desk.list_options({"queue": 3}, "en")] == \
        ["queue", "dispatch", "supervise", "close"]


def test_case_map_figure_outlines_the_grid_and_marks_the_point(pages) -> None:
    case, _ = pages
    fig = case.case_map_figure(GRID, (112.0005, 23.0005), lang="zh-CN",
                               others=[summary(3)], tile_url="http://tiles.local/{z}/{x}/{y}.png")
    kinds = [d["type"] for d in fig["data"]]
    assert kinds == ["choroplethmap", "scattermap", "scattermap"]
    assert fig["layout"]["map"]["style"] == "white-bg"
    assert fig["layout"]["map"]["layers"][0]["source"] == ["http://tiles.local/{z}/{x}/{y}.png"]
    assert 15 <= fig["layout"]["map"]["zoom"] <= 19
    no_grid = case.case_map_figure(None, (112.0, 23.0), lang="en")
    assert [d["type"] for d in no_grid["data"]] == ["scattermap"]


def test_case_view_builds_header_timeline_photos_and_deadlines(pages) -> None:
    case, _ = pages
    events = [
        {"seq": 1, "action": "report", "action_label": {"zh": "上报", "en": "Report"},
         "from_state": None, "to_state": "reported", "actor_role": "inspector",
         "actor_name": "李四", "role_label": {"zh": "网格员", "en": "Grid inspector"},
         "at": NOW.isoformat(), "origin": "tablet", "note": "井盖破损", "attachments": [],
         "photos": ["cd" * 32], "data": {}},
        {"seq": 2, "action": "decline", "action_label": {"zh": "不予立案", "en": "Decline"},
         "from_state": "reported", "to_state": "declined", "actor_role": "command",
         "actor_name": "王五", "role_label": {"zh": "指挥中心", "en": "Command center"},
         "at": (NOW + timedelta(minutes=5)).isoformat(), "origin": "desk", "note": None,
         "attachments": [], "photos": [], "data": {"reason": "not_our_duty"}},
    ]
    page = summary(11, status="declined", events=events, place=PLACE, escalation_level=1,
                   department_name=None, inspector_name="张三", decline_reason="not_our_duty",
                   photos_before=[{"sha256": "cd" * 32, "at": NOW.isoformat()}],
                   photos_after=[], time_used=None, step=None, suspended=False,
                   deadlines=[{"step": "register", "due_at": NOW.isoformat(),
                               "done_at": None, "outcome": None}])
    text = to_json(case.case_view(page, "zh-CN", TZ))
    for part in ("李四", "网格员", "来自 网格员平板", "→ 不予立案", "井盖破损", "不属于本平台职责",
                 "2026-03-05 10:00:00", "2026-03-05 10:05:00", "/media/" + "cd" * 32,
                 "暂无照片", "当前没有计时的环节", "case-map", "升级 1"):
        assert part in text, part
    english = to_json(case.case_view(page, "en", TZ))
    assert "Not our responsibility" in english and "from inspector tablet" in english
