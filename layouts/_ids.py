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
BIGSCREEN_ROOT = "bigscreen-root"
BIGSCREEN_MAP = "bigscreen-map"
BIGSCREEN_LAYER = "bigscreen-layer"
BIGSCREEN_INTERVAL = "bigscreen-interval"
BIGSCREEN_DIGESTS = "bigscreen-digests"
BIGSCREEN_KPIS = "bigscreen-kpis"
BIGSCREEN_LIGHTS = "bigscreen-lights"
BIGSCREEN_TICKER = "bigscreen-ticker"
BIGSCREEN_CATEGORIES = "bigscreen-categories"
BIGSCREEN_DISTRICTS = "bigscreen-districts"
BIGSCREEN_CLOCK = "bigscreen-clock"
BIGSCREEN_NOTE = "bigscreen-note"
BIGSCREEN_DISTRICT = "bigscreen-district"
BIGSCREEN_STREET = "bigscreen-street"
BIGSCREEN_SELECTED = "bigscreen-selected"
BIGSCREEN_DRILL = "bigscreen-drill"
BIGSCREEN_DRILL_BODY = "bigscreen-drill-body"
BIGSCREEN_DRILL_CLOSE = "bigscreen-drill-close"
BIGSCREEN_DRILL_DIGEST = "bigscreen-drill-digest"
BIGSCREEN_FULLSCREEN = "bigscreen-fullscreen"
BIGSCREEN_EXIT = "bigscreen-exit"
# -- end of bigscreen ids --

# The registration and dispatch desk (受理派遣台, /desk): desk-*
DESK_REFRESH = "desk-refresh"
DESK_SELECTED = "desk-selected"
DESK_VERSION = "desk-version"
DESK_SHOWN = "desk-shown"
DESK_LIST_KIND = "desk-list-kind"
DESK_LIST = "desk-list"
DESK_ITEM = "desk-item"  # pattern-matching type: {"type": DESK_ITEM, "id": case id}
DESK_DETAIL = "desk-detail"
DESK_CASE_LINK = "desk-case-link"
DESK_PHOTOS = "desk-photos"
DESK_READINGS = "desk-readings"
DESK_MAP = "desk-map"
DESK_SIMILAR = "desk-similar"
DESK_MESSAGE = "desk-message"
DESK_ACTIONS = "desk-actions"
DESK_CASE_LABEL = "desk-case-label"
DESK_NOTE = "desk-note"
DESK_REGISTER = "desk-register"
DESK_DECLINE_REASON = "desk-decline-reason"
DESK_DECLINE = "desk-decline"
DESK_MERGE_TARGET = "desk-merge-target"
DESK_MERGE = "desk-merge"
DESK_DEPARTMENT = "desk-department"
DESK_DISPATCH = "desk-dispatch"
DESK_SUPERVISE = "desk-supervise"
DESK_CLOSE = "desk-close"
# -- end of desk ids --

# The case page (案件详情, /cases/<id>): case-*
CASE_ID = "case-id"
CASE_BODY = "case-body"
CASE_CODE = "case-code"
CASE_BADGES = "case-badges"
CASE_FACTS = "case-facts"
CASE_TIMELINE = "case-timeline"
CASE_MAP = "case-map"
CASE_DEADLINES = "case-deadlines"
# -- end of case ids --

# The inspector tablet (网格员平板, /tablet): tablet-*
TABLET_ROOT = "tablet-root"
TABLET_REFRESH = "tablet-refresh"
TABLET_INTERVAL = "tablet-interval"
TABLET_TASKS = "tablet-tasks"
TABLET_TASK = "tablet-task"  # pattern-matching type: {"type": TABLET_TASK, "index": case id}
TABLET_SELECTED = "tablet-selected"
TABLET_DETAIL = "tablet-detail"
TABLET_MAP = "tablet-map"
TABLET_OUTBOX = "tablet-outbox"
TABLET_OUTBOX_BADGE = "tablet-outbox-badge"
TABLET_NETWORK = "tablet-network"
TABLET_REFUSED = "tablet-refused"
TABLET_TAB_TASKS = "tablet-tab-tasks"
TABLET_TAB_REPORT = "tablet-tab-report"
TABLET_REPORT = "tablet-report"
TABLET_REPORT_CATEGORY = "tablet-report-category"
TABLET_REPORT_NOTE = "tablet-report-note"
TABLET_REPORT_GRID = "tablet-report-grid"
TABLET_REPORT_LOCATE = "tablet-report-locate"
TABLET_REPORT_POINT = "tablet-report-point"
TABLET_REPORT_MAP = "tablet-report-map"
TABLET_REPORT_SUBMIT = "tablet-report-submit"
TABLET_VERIFY_REASON = "tablet-verify-reason"
TABLET_VERIFY_PASS = "tablet-verify-pass"
TABLET_VERIFY_FAIL = "tablet-verify-fail"
TABLET_PHOTOS = "tablet-photos"  # prefix: the photo picker of a form, e.g. tablet-photos-verify
# -- end of tablet ids --

# The handler desk (处置工作台, /handler): handler-*
HANDLER_ROOT = "handler-root"
HANDLER_REFRESH = "handler-refresh"
HANDLER_INTERVAL = "handler-interval"
HANDLER_TASKS = "handler-tasks"
HANDLER_TASK = "handler-task"  # pattern-matching type: {"type": HANDLER_TASK, "index": case id}
HANDLER_SELECTED = "handler-selected"
HANDLER_CHANGED = "handler-changed"
HANDLER_DETAIL = "handler-detail"
HANDLER_MESSAGE = "handler-message"
HANDLER_NOTE = "handler-note"
HANDLER_REASON = "handler-reason"
HANDLER_HOURS = "handler-hours"
HANDLER_UPLOAD = "handler-upload"
HANDLER_PHOTOS = "handler-photos"
HANDLER_PHOTO_LIST = "handler-photo-list"
HANDLER_UPLOAD_MESSAGE = "handler-upload-message"
HANDLER_ACCEPT = "handler-accept"
HANDLER_FEEDBACK = "handler-feedback"
HANDLER_EXTEND = "handler-extend"
HANDLER_RETURN = "handler-return"
HANDLER_MAP = "handler-map"
# -- end of handler ids --

# The leader scorecards (考核评价, /scorecards): scorecards-*
SCORECARDS_MODE = "scorecards-mode"
SCORECARDS_MONTH = "scorecards-month"
SCORECARDS_MONTH_WRAP = "scorecards-month-wrap"
SCORECARDS_RANGE_WRAP = "scorecards-range-wrap"
SCORECARDS_START = "scorecards-start"
SCORECARDS_END = "scorecards-end"
SCORECARDS_BY = "scorecards-by"
SCORECARDS_INDICATOR = "scorecards-indicator"
SCORECARDS_XLSX = "scorecards-xlsx"
SCORECARDS_PDF = "scorecards-pdf"
SCORECARDS_PERIOD = "scorecards-period"
SCORECARDS_MESSAGE = "scorecards-message"
SCORECARDS_QUERY = "scorecards-query"
SCORECARDS_SORT = "scorecards-sort"
SCORECARDS_PAGE = "scorecards-page"
SCORECARDS_PREV = "scorecards-prev"
SCORECARDS_NEXT = "scorecards-next"
SCORECARDS_PAGER = "scorecards-pager"
SCORECARDS_TABLE = "scorecards-table"
SCORECARDS_RANKING = "scorecards-ranking"
SCORECARDS_TREND = "scorecards-trend"
SCORECARDS_TREND_SCOPE = "scorecards-trend-scope"
SCORECARDS_MAP = "scorecards-map"
SCORECARDS_MAP_NOTE = "scorecards-map-note"
SCORECARDS_DRILL = "scorecards-drill"
#: Pattern-matching id types: a number in the table ({"type", "row", "ind"}) and a column's
#: sort button ({"type", "col"}).
SCORECARDS_CELL = "scorecards-cell"
SCORECARDS_SORT_BUTTON = "scorecards-sort-button"
# -- end of scorecards ids --

# -- scorecards: shop-front scores (门前三包) ----------------------------------------------------
SCORECARDS_SHOP_MONTH = "scorecards-shop-month"
SCORECARDS_SHOP_BY = "scorecards-shop-by"
SCORECARDS_SHOP_TABLE = "scorecards-shop-table"
SCORECARDS_SHOP_RED = "scorecards-shop-red"
SCORECARDS_SHOP_BLACK = "scorecards-shop-black"
SCORECARDS_SHOP_XLSX = "scorecards-shop-xlsx"
SCORECARDS_SHOP_PDF = "scorecards-shop-pdf"

# The shop registry for administrators (商户台账, /shops): shops-*
SHOPS_ROOT = "shops-root"
SHOPS_QUERY = "shops-query"
SHOPS_STREET = "shops-street"
SHOPS_PAGE = "shops-page"
SHOPS_PREV = "shops-prev"
SHOPS_NEXT = "shops-next"
SHOPS_PAGER = "shops-pager"
SHOPS_TABLE = "shops-table"
SHOPS_VERSION = "shops-version"
SHOPS_STREETS = "shops-streets"
SHOPS_UPLOAD = "shops-upload"
SHOPS_DRY_RUN = "shops-dry-run"
SHOPS_REPORT = "shops-report"
SHOPS_MESSAGE = "shops-message"
SHOPS_MODAL = "shops-modal"
SHOPS_MODAL_BODY = "shops-modal-body"
SHOPS_CONFIRM = "shops-confirm"
SHOPS_CANCEL = "shops-cancel"
SHOPS_PENDING = "shops-pending"
SHOPS_NEW_URL = "shops-new-url"
#: Pattern-matching id types: a row's revoke button ({"type", "code"}) and a street's
#: plaques link ({"type", "street"}).
SHOPS_REVOKE = "shops-revoke"
SHOPS_PLAQUES = "shops-plaques"
# -- end of shops ids --
