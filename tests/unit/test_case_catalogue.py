"""The case catalogue and the routing table: shipped files load, routes pick the most specific
match, and a mistake in a file is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cases.catalogue import Category, Route, Routing, area_codes_of
from data.config import CONFIG_DIR, ConfigError
from data.config.cases import load_case_catalogue


def _category(kind: str = "event", code: str = "0503", department: str = "D05") -> Category:
    return Category(kind, code, code[:2], "街面秩序", "Street order", "x", "x", department,
                    "normal", "order", "r", "r", "c", "c")


def test_shipped_catalogue_covers_every_type() -> None:
    cat = load_case_catalogue()
    assert len(cat.of_kind("component")) == 16 and len(cat.of_kind("event")) == 20
    cover = cat.get("component", "0102")
    assert cover is not None and cover.urgency == "urgent" and "15°" in cover.register_condition
    assert cat.get("component", "0111").register_condition.startswith("燃气井盖")
    assert cat.get("event", "0503").limits == "order"  # from class 05's defaults
    assert cat.get("event", "0505").department == "D06"


def test_shipped_routing() -> None:
    cat = load_case_catalogue()
    parking = cat.get("event", "0503")
    assert cat.department_for(parking, "449903001001001") == "D06"  # district override
    assert cat.department_for(parking, "449902001001001") == "D05"  # class 05 city-wide
    garbage = cat.get("event", "0102")
    assert cat.department_for(garbage, "449904001002003") == "D10"  # street override
    assert cat.department_for(garbage, "449904002002003") == "D03"  # type default
    assert cat.department_for(garbage, None) == "D03"


def test_most_specific_area_then_category_wins() -> None:
    routing = Routing((Route("*", "*", "A"), Route("event", "449902", "B"),
                       Route("event:0503", "449902", "C"), Route("event:05", "449902001", "D")))
    cat = _category()
    assert routing.department_for(cat, area_codes_of("449902001001001")) == "D"
    assert routing.department_for(cat, area_codes_of("449902002001001")) == "C"
    assert routing.department_for(_category(code="0501"), area_codes_of("449902002001001")) == "B"
    assert routing.department_for(cat, area_codes_of("449903001001001")) == "A"
    assert Routing(()).department_for(cat, ()) == "D05"


def _copy(tmp_path: Path) -> Path:
    for name in ("component_types.yaml", "event_types.yaml", "case_categories.yaml",
                 "routing.yaml"):
        shutil.copy(CONFIG_DIR / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize(("file", "old", "new", "message"), [
    ("case_categories.yaml", '    "0603":\n      urgency: urgent',
     '    "0699":\n      urgency: urgent', "component.types['0699']: no component type 0699"),
    ("case_categories.yaml", "      urgency: low\n      register: 绿化",
     "      urgency: soon\n      register: 绿化",
     "urgency 'soon' is not one of urgent, normal, low"),
    ("case_categories.yaml", "      limits: environment\n      urgency: low\n      register: 绿化",
     "      limits: nowhere\n      urgency: low\n      register: 绿化",
     "time-limit profile 'nowhere' is not in time_limits.yaml"),
    ("case_categories.yaml", "      close_en: Replanted, straightened, pruned or cleared\n", "",
     "component 0404 (行道树): no close_en"),
    ("case_categories.yaml", "      register: 未经审批搭建", "      regster: 未经审批搭建",
     "unknown key(s) ['regster']"),
    ("routing.yaml", '"event:0505", area: "*"', '"event:0599", area: "*"',
     "routes[1]: category 'event:0599' is not a known type"),
    ("routing.yaml", 'area: "449903", department: D06', 'area: "44990", department: D06',
     "area '44990' must be '*' or a 6-, 9- or 12-digit region code"),
    ("routing.yaml", 'area: "449903", department: D06', 'area: "449903", department: D99',
     "department 'D99' is not in the departments table"),
])
def test_mistakes_are_named(tmp_path: Path, file: str, old: str, new: str,
                            message: str) -> None:
    config = _copy(tmp_path)
    text = (config / file).read_text(encoding="utf-8")
    assert old in text
    (config / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_case_catalogue(config, profiles=("facility", "order", "sanitation", "environment",
                                              "device"),
                            departments=[f"D{i:02d}" for i in range(1, 11)])
    assert message in str(err.value)
    assert file in str(err.value)
