"""The case catalogue (案件类别) and dispatch routing (派遣路由): plain values, no I/O.

``data/config`` builds these from the reviewed YAML files; the engine only reads them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

KINDS = ("component", "event")
URGENCIES = ("urgent", "normal", "low")
URGENCY_LABELS = {"urgent": ("紧急", "Urgent"), "normal": ("一般", "Normal"),
                  "low": ("较低", "Low")}


@dataclass(frozen=True)
class Category:
    """One case category: a component type (部件) or event type (事件), 4-digit GB/T code."""

    kind: str
    code: str
    major_code: str
    major_name: str
    major_name_en: str
    name: str
    name_en: str
    department: str | None
    urgency: str
    limits: str
    register_condition: str
    register_condition_en: str
    close_condition: str
    close_condition_en: str

    @property
    def key(self) -> str:
        """``component:0101`` / ``event:0503``: one name for the category everywhere."""
        return f"{self.kind}:{self.code}"

    def label(self, lang: str = "zh") -> str:
        return self.name if lang == "zh" else self.name_en


@dataclass(frozen=True)
class Route:
    """``category`` is ``kind:code``, ``kind:major``, ``kind`` or ``*``; ``area`` a region code
    (6, 9 or 12 digits) or ``*``."""

    category: str
    area: str
    department: str

    def category_rank(self, category: Category) -> int | None:
        """How specifically this route names ``category`` (3 type … 0 anything), or None."""
        if self.category == "*":
            return 0
        if self.category == category.kind:
            return 1
        if self.category == f"{category.kind}:{category.major_code}":
            return 2
        if self.category == category.key:
            return 3
        return None

    def area_rank(self, area_codes: Iterable[str]) -> int | None:
        """How specifically this route names the place (its code length), or None."""
        if self.area == "*":
            return 0
        return len(self.area) if self.area in set(area_codes) else None


@dataclass(frozen=True)
class Routing:
    routes: tuple[Route, ...] = ()

    def department_for(self, category: Category, area_codes: Iterable[str]) -> str | None:
        """The department a case of ``category`` at a place inside ``area_codes`` (its
        district, street and community codes) goes to: the most specific area wins, then the
        most specific category; no matching route → the category's default department."""
        areas = tuple(area_codes)
        best: tuple[int, int] | None = None
        chosen: str | None = None
        for route in self.routes:
            c = route.category_rank(category)
            a = route.area_rank(areas)
            if c is None or a is None:
                continue
            if best is None or (a, c) > best:
                best, chosen = (a, c), route.department
        return chosen if chosen is not None else category.department


def area_codes_of(grid_code: str | None) -> tuple[str, ...]:
    """District, street and community codes of a 15-digit unit-grid code."""
    if not grid_code or len(grid_code) < 12:
        return ()
    return grid_code[:6], grid_code[:9], grid_code[:12]


@dataclass(frozen=True)
class CaseCatalogue:
    categories: tuple[Category, ...]
    routing: Routing

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {c.key: c for c in self.categories})

    def get(self, kind: str, code: str) -> Category | None:
        return self._by_key.get(f"{kind}:{code}")  # type: ignore[attr-defined]

    def by_key(self, key: str) -> Category | None:
        return self._by_key.get(key)  # type: ignore[attr-defined]

    def of_kind(self, kind: str) -> tuple[Category, ...]:
        return tuple(c for c in self.categories if c.kind == kind)

    def department_for(self, category: Category, grid_code: str | None) -> str | None:
        return self.routing.department_for(category, area_codes_of(grid_code))
