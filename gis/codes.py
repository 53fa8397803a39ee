"""Territory and component codes (GB/T 30428 style geocoding).

A unit grid (单元网格) code is 15 digits::

    district (区/县, 6) + street (街道/镇, 3) + community (社区/村, 3) + sequence (3)

so every grid code carries its community (12), street (9) and district (6) codes as prefixes.
A managed component (城市部件) code is 16 digits: district (6) + component type (4) +
sequence (6).

Validators return ``bool`` and never raise: anything that is not a ``str`` of exactly the right
number of ASCII digits is rejected (no spaces, no full-width or other Unicode digits).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COMMUNITY_CODE_LEN",
    "COMPONENT_CODE_LEN",
    "DISTRICT_CODE_LEN",
    "GRID_CODE_LEN",
    "STREET_CODE_LEN",
    "Location",
    "is_community_code",
    "is_component_code",
    "is_district_code",
    "is_grid_code",
    "is_street_code",
    "parent_codes",
]

DISTRICT_CODE_LEN = 6
STREET_CODE_LEN = 9
COMMUNITY_CODE_LEN = 12
GRID_CODE_LEN = 15
COMPONENT_CODE_LEN = 16


def _is_digits(value: object, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and value.isascii() and value.isdigit()


def is_district_code(code: object) -> bool:
    """True for a 6-digit district/county (区/县) code."""
    return _is_digits(code, DISTRICT_CODE_LEN)


def is_street_code(code: object) -> bool:
    """True for a 9-digit street/town (街道/镇) code: district (6) + street (3)."""
    return _is_digits(code, STREET_CODE_LEN)


def is_community_code(code: object) -> bool:
    """True for a 12-digit community/village (社区/村) code: street (9) + community (3)."""
    return _is_digits(code, COMMUNITY_CODE_LEN)


def is_grid_code(code: object) -> bool:
    """True for a 15-digit unit grid (单元网格) code: community (12) + sequence (3)."""
    return _is_digits(code, GRID_CODE_LEN)


def is_component_code(code: object) -> bool:
    """True for a 16-digit component (部件) code: district (6) + type (4) + sequence (6)."""
    return _is_digits(code, COMPONENT_CODE_LEN)


def parent_codes(grid_code: str) -> dict[str, str]:
    """The community, street and district codes a unit grid (单元网格) code belongs to.

    Pure string slicing. Raises ``ValueError`` when ``grid_code`` is not 15 ASCII digits.
    """
    if not is_grid_code(grid_code):
        raise ValueError(
            f"not a unit grid code: {grid_code!r}; expected 15 digits "
            "(district 6 + street 3 + community 3 + sequence 3)"
        )
    return {
        "community": grid_code[:COMMUNITY_CODE_LEN],
        "street": grid_code[:STREET_CODE_LEN],
        "district": grid_code[:DISTRICT_CODE_LEN],
    }


@dataclass(frozen=True, slots=True)
class Location:
    """Where a point lies: its unit grid (单元网格) and the community, street and district."""

    grid: str
    community: str
    street: str
    district: str

    @classmethod
    def from_grid_code(cls, grid_code: str) -> Location:
        """Build from a 15-digit grid code; raises ``ValueError`` if it is malformed."""
        parents = parent_codes(grid_code)
        return cls(
            grid=grid_code,
            community=parents["community"],
            street=parents["street"],
            district=parents["district"],
        )
