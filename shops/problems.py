"""What a shop answers for (门前三包) and the problems found in front of it.

The duties printed on plaques and public pages, and the shop-front problem types an inspector
picks from: each is one event type of the case catalogue (``data/config/event_types.yaml``) so a
shop-front problem runs the ordinary case loop, with a severity the monthly score weighs
(``shops/scoring.py``). Pure data: no Dash, no SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

# The three duties (门前三包): kept clean, kept in order, green and fittings kept.
DUTIES: tuple[tuple[str, str], ...] = (
    ("包市容整洁：门前无乱张贴、乱吊挂、乱堆放，招牌整洁",
     "Tidy front: no posters, hangings or piles; signboard kept clean"),
    ("包环境卫生：门前无垃圾、污水、杂物，垃圾定点投放",
     "Clean front: no litter, waste water or debris; rubbish to the bins"),
    ("包秩序与设施：不店外经营、不占道，非机动车有序停放，绿化和设施完好",
     "Order and fittings: no trading outside, pavement clear, bikes parked in order, "
     "greenery and fittings kept"),
)


@dataclass(frozen=True)
class ShopProblem:
    """A shop-front problem type: ``key`` is what forms and the API send."""

    key: str
    event_code: str
    name: str
    name_en: str
    severity: int  # 1 minor, 2 ordinary, 3 serious


SHOP_PROBLEMS: tuple[ShopProblem, ...] = (
    ShopProblem("out_of_store", "0502", "店外经营", "Trading outside the shop", 2),
    ShopProblem("pavement_stall", "0501", "占道经营、摆摊", "Stall on the pavement", 3),
    ShopProblem("piled_materials", "0105", "乱堆物料", "Piled materials", 2),
    ShopProblem("garbage", "0102", "门前垃圾", "Garbage in front", 2),
    ShopProblem("dirty_front", "0104", "门前不洁", "Dirty frontage", 1),
    ShopProblem("umbrella", "0504", "违规撑伞、搭遮阳篷", "Umbrella or awning", 1),
    ShopProblem("bikes", "0503", "门前非机动车乱停", "Bikes parked in disorder", 1),
    ShopProblem("other", "0601", "其他", "Other", 1),
)
PROBLEMS_BY_KEY = {p.key: p for p in SHOP_PROBLEMS}
PROBLEMS_BY_EVENT = {p.event_code: p for p in SHOP_PROBLEMS}

#: Camera detection types that are a shop's business when seen inside its zone.
DETECTION_PROBLEMS: dict[str, str] = {
    "out_of_store": "out_of_store",
    "street_vending": "pavement_stall",
    "piled_materials": "piled_materials",
    "garbage_exposed": "garbage",
    "umbrella": "umbrella",
    "non_motor_parking": "bikes",
}

DEFAULT_FRONTAGE_M = 5.0
"""Depth of a responsibility zone drawn in front of a shop that came without a polygon."""


def problem(key: str) -> ShopProblem:
    """The problem type ``key``; ``KeyError`` names the known ones."""
    try:
        return PROBLEMS_BY_KEY[key]
    except KeyError:
        raise KeyError(f"shop problem {key!r} unknown: use one of "
                       + ", ".join(PROBLEMS_BY_KEY)) from None


def severity_of(event_code: str | None) -> int:
    """The severity of a case's event type as a shop-front problem (1 when not listed)."""
    found = PROBLEMS_BY_EVENT.get(event_code or "")
    return found.severity if found else 1
