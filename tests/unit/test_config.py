"""The configuration tables load, and a broken one is refused with file, place and reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from data.config import CONFIG_DIR, ConfigError, load_catalogue


def test_shipped_catalogue_loads() -> None:
    cat = load_catalogue()
    codes = {t.code for t in cat.component_types}
    assert {"0101", "0122", "0125", "0305", "0308"} <= codes
    assert {t.major_code for t in cat.component_types} <= {"01", "02", "03", "04", "05", "06"}
    cover = cat.component_type("0101")
    assert {m.name for m in cover.metrics} == {"tilt_deg", "displacement_mm", "water_level_cm"}
    light = cat.component_type("0122")
    assert {m.name: m.type for m in light.metrics}["lamp_on"] == "bool"
    for detection in ("non_motor_parking", "street_vending", "umbrella", "out_of_store",
                      "garbage_overflow", "piled_materials"):
        assert cat.event_for_detection(detection) is not None, detection
    majors = {t.major_name for t in cat.event_types}
    assert {"市容环境", "宣传广告", "施工管理", "突发事件", "街面秩序"} <= majors


def _broken(tmp_path: Path, find: str, replace: str) -> Path:
    for name in ("component_types.yaml", "event_types.yaml"):
        shutil.copy(CONFIG_DIR / name, tmp_path / name)
    path = tmp_path / "component_types.yaml"
    text = path.read_text(encoding="utf-8")
    assert find in text
    path.write_text(text.replace(find, replace, 1), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("find", "replace", "message"), [
    ('code: "0122"', 'code: "122"', "must be 4 digits"),
    ('code: "0122"', 'code: "0101"', "appears twice"),
    ('code: "0122"', 'code: "0922"', "major class 09"),
    ("lamp_on: {unit: \"\", type: bool}", "lamp_on: {unit: \"\", type: text}", "lamp_on"),
    ("types:", "types: [\n", "not valid YAML"),
])
def test_broken_catalogue_is_refused_clearly(tmp_path, find, replace, message) -> None:
    with pytest.raises(ConfigError, match=message):
        load_catalogue(_broken(tmp_path, find, replace))
