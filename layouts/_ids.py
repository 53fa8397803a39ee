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


# Each page below keeps its ids in its own section (``<page>-<thing>``).

# The big screen (指挥大屏, /): bigscreen-*
# -- end of bigscreen ids --

# The registration and dispatch desk (受理派遣台, /desk): desk-*
# -- end of desk ids --

# The case page (案件详情, /cases/<id>): case-*
# -- end of case ids --

# The inspector tablet (网格员平板, /tablet): tablet-*
# -- end of tablet ids --

# The handler desk (处置工作台, /handler): handler-*
# -- end of handler ids --

# The leader scorecards (考核评价, /scorecards): scorecards-*
# -- end of scorecards ids --
