"""Load the case catalogue (``case_categories.yaml``) and routing (``routing.yaml``).

Every component and event type must end up with registration and closing conditions, a known
urgency and a known time-limit profile; every route must name a known category, a well-formed
area code and a known department. A mistake raises :class:`ConfigError` naming the file, the
entry and the problem, and nothing is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cases.catalogue import KINDS, URGENCIES, CaseCatalogue, Category, Route, Routing
from data.config import CONFIG_DIR, Catalogue, ConfigError, _load_yaml, load_catalogue

FIELDS = ("limits", "urgency", "register", "register_en", "close", "close_en")
AREA = re.compile(r"^(\*|\d{6}|\d{9}|\d{12})$")
CATEGORY = re.compile(r"^(\*|(component|event)(:\d{2}|:\d{4})?)$")


def _entries(path: Path, doc: dict[str, Any], kind: str, part: str) -> dict[str, dict]:
    section = doc.get(kind) or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path.name}: {kind}: expected a mapping with 'classes' and 'types'")
    unknown = set(section) - {"classes", "types"}
    if unknown:
        raise ConfigError(f"{path.name}: {kind}: unknown key(s) {sorted(unknown)}; "
                          "expected 'classes' and 'types'")
    raw = section.get(part) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: {kind}.{part}: expected a mapping of codes")
    out: dict[str, dict] = {}
    for code, entry in raw.items():
        where = f"{path.name}: {kind}.{part}[{code!r}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping")
        bad = set(entry) - set(FIELDS)
        if bad:
            raise ConfigError(f"{where}: unknown key(s) {sorted(bad)}; allowed: "
                              + ", ".join(FIELDS))
        for key, value in entry.items():
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: {key} must be non-empty text")
        out[str(code)] = entry
    return out


def _categories(path: Path, doc: dict[str, Any], catalogue: Catalogue,
                profiles: Iterable[str] | None) -> tuple[Category, ...]:
    known_profiles = set(profiles) if profiles is not None else None
    out: list[Category] = []
    for kind, types in (("component", catalogue.component_types),
                        ("event", catalogue.event_types)):
        classes = _entries(path, doc, kind, "classes")
        overrides = _entries(path, doc, kind, "types")
        codes = {t.code for t in types}
        majors = {t.major_code for t in types}
        for code in overrides:
            if code not in codes:
                raise ConfigError(f"{path.name}: {kind}.types[{code!r}]: no {kind} type {code} "
                                  f"in {kind}_types.yaml")
        for code in classes:
            if code not in majors and not re.fullmatch(r"\d{2}", code):
                raise ConfigError(f"{path.name}: {kind}.classes[{code!r}]: not a 2-digit class")
        for t in types:
            merged = {**classes.get(t.major_code, {}), **overrides.get(t.code, {})}
            where = f"{path.name}: {kind} {t.code} ({t.name})"
            missing = [f for f in FIELDS if f not in merged]
            if missing:
                raise ConfigError(f"{where}: no {', '.join(missing)}: give it under "
                                  f"{kind}.types[{t.code!r}] or {kind}.classes[{t.major_code!r}]")
            if merged["urgency"] not in URGENCIES:
                raise ConfigError(f"{where}: urgency {merged['urgency']!r} is not one of "
                                  + ", ".join(URGENCIES))
            if known_profiles is not None and merged["limits"] not in known_profiles:
                raise ConfigError(f"{where}: time-limit profile {merged['limits']!r} is not in "
                                  f"time_limits.yaml ({', '.join(sorted(known_profiles))})")
            out.append(Category(
                kind=kind, code=t.code, major_code=t.major_code, major_name=t.major_name,
                major_name_en=t.major_name_en, name=t.name, name_en=t.name_en,
                department=t.department, urgency=merged["urgency"], limits=merged["limits"],
                register_condition=merged["register"], register_condition_en=merged["register_en"],
                close_condition=merged["close"], close_condition_en=merged["close_en"]))
    return tuple(out)


def _routes(path: Path, categories: tuple[Category, ...],
            departments: Iterable[str] | None) -> Routing:
    doc = _load_yaml(path)
    raw = doc.get("routes")
    if not isinstance(raw, list):
        raise ConfigError(f"{path.name}: 'routes' must be a list")
    keys = {c.key for c in categories} | {f"{c.kind}:{c.major_code}" for c in categories}
    known_departments = set(departments) if departments is not None else None
    routes: list[Route] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(raw):
        where = f"{path.name}: routes[{i}]"
        if not isinstance(item, dict) or set(item) != {"category", "area", "department"}:
            raise ConfigError(f"{where}: expected {{category, area, department}}")
        category, area, department = (str(item["category"]), str(item["area"]),
                                      str(item["department"]))
        if not CATEGORY.match(category) or (":" in category and category not in keys):
            raise ConfigError(f"{where}: category {category!r} is not a known type "
                              "(kind:code), class (kind:NN), kind or '*'")
        if not AREA.match(area):
            raise ConfigError(f"{where}: area {area!r} must be '*' or a 6-, 9- or 12-digit "
                              "region code")
        if known_departments is not None and department not in known_departments:
            raise ConfigError(f"{where}: department {department!r} is not in the departments "
                              "table")
        if (category, area) in seen:
            raise ConfigError(f"{where}: a route for {category} in {area} is already given")
        seen.add((category, area))
        routes.append(Route(category, area, department))
    return Routing(tuple(routes))


def load_case_catalogue(config_dir: Path = CONFIG_DIR, *, catalogue: Catalogue | None = None,
                        profiles: Iterable[str] | None = None,
                        departments: Iterable[str] | None = None) -> CaseCatalogue:
    """Build the :class:`CaseCatalogue`. ``profiles`` (time-limit profile names) and
    ``departments`` (department codes) are checked when given."""
    catalogue = catalogue or load_catalogue(config_dir)
    path = config_dir / "case_categories.yaml"
    doc = _load_yaml(path)
    unknown = set(doc) - set(KINDS)
    if unknown:
        raise ConfigError(f"{path.name}: unknown top-level key(s) {sorted(unknown)}; expected "
                          "'component' and 'event'")
    categories = _categories(path, doc, catalogue, profiles)
    routing = _routes(config_dir / "routing.yaml", categories, departments)
    return CaseCatalogue(categories, routing)


