"""The demo history's pure parts: its setting, its command-line switch, the readings it feeds
the rule engine, the desk's hours and its generated photos (no database)."""

from __future__ import annotations

import hashlib
import io
import random
from datetime import datetime

import pytest
from PIL import Image

from app import build_parser
from cases.rules import OPS
from data.config import load_catalogue
from data.config.rules import load_rules
from data.demo_history import TZ, Photos, _bad, _draw_plan, _good, _staffed
from settings import Settings, SettingsError


def test_setting_defaults_to_auto_and_takes_never() -> None:
    assert Settings.from_env({}).demo_history == "auto"
    assert Settings.from_env({"ONEGRID_DEMO_HISTORY": "NEVER"}).demo_history == "never"
    with pytest.raises(SettingsError, match="ONEGRID_DEMO_HISTORY"):
        Settings.from_env({"ONEGRID_DEMO_HISTORY": "sometimes"})


def test_seed_command_switch() -> None:
    parser = build_parser()
    assert parser.parse_args(["seed"]).history is None  # the setting decides
    assert parser.parse_args(["seed", "--history"]).history is True
    assert parser.parse_args(["seed", "--no-history"]).history is False


def test_readings_meet_every_rule_inside_the_metric_ranges() -> None:
    catalogue = load_catalogue()
    rules = load_rules(catalogue=catalogue)
    ranges = {t.code: {m.name: (m.min, m.max) for m in t.metrics}
              for t in catalogue.component_types}
    checked = 0
    for type_code, type_rules in rules.rules_by_type.items():
        for rule in type_rules:
            for cond, make in ((rule.condition, _bad), (rule.normal_condition, _good)):
                low, high = ranges[type_code][cond.metric]
                value = make(cond, (low, high))
                assert OPS[cond.op](value, cond.value), (rule.key, cond, value)
                if not isinstance(value, bool):
                    assert (low is None or value >= low) and (high is None or value <= high)
                checked += 1
    assert checked >= 20


def test_the_desk_is_staffed_from_eight_to_ten() -> None:
    rng = random.Random(1)
    day = datetime(2026, 11, 18, 10, 0, tzinfo=TZ)
    assert _staffed(day, rng) == day
    night = datetime(2026, 11, 18, 23, 30, tzinfo=TZ)
    morning = _staffed(night, rng).astimezone(TZ)
    assert morning.date().day == 19 and 8 <= morning.hour < 9
    early = _staffed(datetime(2026, 11, 18, 5, 0, tzinfo=TZ), rng).astimezone(TZ)
    assert early.date().day == 18 and 8 <= early.hour < 9


def test_photos_are_small_jpegs_named_by_their_hash(tmp_path) -> None:
    photos = Photos(tmp_path, seed=7)
    sha, data = photos.jpeg("event:0102", "Exposed garbage", "before", 1)
    assert hashlib.sha256(data).hexdigest() == sha
    assert 2_000 < len(data) < 60_000
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == Photos.SIZE
    again = Photos(tmp_path / "other", seed=7).jpeg("event:0102", "Exposed garbage", "before", 1)
    assert again[0] == sha  # deterministic
    after = photos.jpeg("event:0102", "Exposed garbage", "after", 1)
    assert after[0] != sha
    stored = photos.photo("event:0102", "Exposed garbage", "before", 1 + Photos.VARIANTS)
    assert stored == {"sha256": sha, "mime": "image/jpeg"}  # variants repeat
    assert (tmp_path / sha[:2] / sha[2:4] / f"{sha}.jpg").read_bytes() == data


def test_plans_are_drawn_from_the_case_stream_alone() -> None:
    a = _draw_plan(random.Random("7:x"), "citizen")
    b = _draw_plan(random.Random("7:x"), "citizen")
    assert (a.outcome, a.late, a.extension, a.reworks) == (b.outcome, b.late, b.extension,
                                                          b.reworks)
    plans = [_draw_plan(random.Random(f"7:{i}"), "citizen") for i in range(2000)]
    late = sum(p.late["handle"] > 1 for p in plans) / len(plans)
    assert 0.03 < late < 0.2
    assert {p.outcome for p in plans} == {"close", "decline", "merge", "void"}
    assert all(f > 0 for p in plans for f in p.late.values())
    assert {p.decline_reason for p in plans if p.outcome == "decline"} == {
        "duplicate", "not_our_duty", "invalid"}
