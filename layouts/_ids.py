"""Component ids of every page, one constant per id (``<page>-<thing>``).

Layouts and callbacks import ids from here, so a renamed id cannot leave a callback behind.
"""

from __future__ import annotations

# The shell (every page)
SHELL_NAV = "shell-nav"
SHELL_USER = "shell-user"
SHELL_LANG = "shell-lang"
SHELL_LOGOUT = "shell-logout"

# The overview page (城市概览)
OVERVIEW_LEVEL = "overview-level"
OVERVIEW_DISTRICT = "overview-district"
OVERVIEW_STREET = "overview-street"
OVERVIEW_COMMUNITY = "overview-community"
OVERVIEW_AREA_NAME = "overview-area-name"
OVERVIEW_COUNTS = "overview-counts"
OVERVIEW_MESSAGE = "overview-message"
OVERVIEW_MAP = "overview-map"


def count_id(page: str, field: str) -> str:
    """The id of one count tile's number, e.g. ``overview-count-grids``."""
    return f"{page}-count-{field}"
