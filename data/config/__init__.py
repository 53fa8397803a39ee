"""Configuration tables (``data/config/*.yaml``): loaded and validated at start.

A mistake in a file is reported as ``file: where: what is wrong`` and nothing is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR = Path(__file__).resolve().parent
METRIC_TYPES = ("number", "bool")
DETECTION_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class ConfigError(ValueError):
    """A configuration file is wrong; the message says which file, where and what."""


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str
    type: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class CategoryType:
    """A component type (部件小类) or event type (事件小类)."""

    code: str
    major_code: str
    major_name: str
    name: str
    name_en: str
    department: str | None
    report_period_s: int | None = None
    metrics: tuple[MetricSpec, ...] = ()
    detection: str | None = None
    major_name_en: str = ""

    def metrics_json(self) -> dict[str, Any]:
        return {
            m.name: {k: v for k, v in (("unit", m.unit), ("type", m.type), ("min", m.min),
                                       ("max", m.max)) if v is not None}
            for m in self.metrics
        }


@dataclass(frozen=True)
class Catalogue:
    component_types: tuple[CategoryType, ...] = field(default_factory=tuple)
    event_types: tuple[CategoryType, ...] = field(default_factory=tuple)

    def component_type(self, code: str) -> CategoryType | None:
        return next((t for t in self.component_types if t.code == code), None)

    def event_for_detection(self, detection: str) -> CategoryType | None:
        return next((t for t in self.event_types if t.detection == detection), None)


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found")
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}")
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping with 'major_classes' and 'types'")
    return doc


def _types(path: Path, *, with_metrics: bool) -> tuple[CategoryType, ...]:
    doc = _load_yaml(path)
    majors = doc.get("major_classes")
    if not isinstance(majors, dict) or not majors:
        raise ConfigError(f"{path}: 'major_classes' must map 2-digit codes to names")
    for code, spec in majors.items():
        named = isinstance(spec, dict) and "name" in spec
        if not re.fullmatch(r"\d{2}", str(code)) or not named:
            raise ConfigError(f"{path}: major_classes[{code!r}]: need a 2-digit code and a name")
    items = doc.get("types")
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{path}: 'types' must be a non-empty list")
    out: list[CategoryType] = []
    seen: set[str] = set()
    detections: set[str] = set()
    for i, item in enumerate(items):
        where = f"{path.name}: types[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a mapping")
        code = str(item.get("code", ""))
        if not re.fullmatch(r"\d{4}", code):
            raise ConfigError(f"{where}: code {code!r} must be 4 digits (class + subclass)")
        if code in seen:
            raise ConfigError(f"{where}: code {code} appears twice")
        seen.add(code)
        major = code[:2]
        if major not in {str(k) for k in majors}:
            raise ConfigError(f"{where}: code {code}: major class {major} is not in major_classes")
        for key in ("name", "name_en"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise ConfigError(f"{where} ({code}): '{key}' is required")
        metrics: list[MetricSpec] = []
        if with_metrics:
            raw = item.get("metrics") or {}
            if not isinstance(raw, dict):
                raise ConfigError(f"{where} ({code}): 'metrics' must be a mapping")
            for name, spec in raw.items():
                if not isinstance(spec, dict) or spec.get("type") not in METRIC_TYPES:
                    raise ConfigError(
                        f"{where} ({code}): metric {name!r}: type must be one of {METRIC_TYPES}"
                    )
                metrics.append(MetricSpec(str(name), str(spec.get("unit", "")), spec["type"],
                                          spec.get("min"), spec.get("max")))
        detection = item.get("detection")
        if detection is not None:
            if not isinstance(detection, str) or not DETECTION_CODE.match(detection):
                raise ConfigError(f"{where} ({code}): detection {detection!r} must be snake_case")
            if detection in detections:
                raise ConfigError(f"{where} ({code}): detection {detection!r} appears twice")
            detections.add(detection)
        period = item.get("report_period_s")
        if period is not None and (not isinstance(period, int) or period <= 0):
            raise ConfigError(f"{where} ({code}): report_period_s must be a positive integer")
        out.append(CategoryType(
            code=code, major_code=major, major_name=str(majors[major]["name"]),
            name=item["name"], name_en=item["name_en"], department=item.get("department"),
            report_period_s=period, metrics=tuple(metrics), detection=detection,
            major_name_en=str(majors[major].get("name_en", "")),
        ))
    return tuple(out)


def load_catalogue(config_dir: Path = CONFIG_DIR) -> Catalogue:
    """Load ``component_types.yaml`` and ``event_types.yaml``; raise :class:`ConfigError`."""
    return Catalogue(
        component_types=_types(config_dir / "component_types.yaml", with_metrics=True),
        event_types=_types(config_dir / "event_types.yaml", with_metrics=False),
    )
