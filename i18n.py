"""Interface text in Chinese (zh-CN, the default) and English.

One key per label, used by layouts, callbacks and Flask pages alike. The language of a request
comes from the ``onegrid_lang`` cookie (set by ``/lang/<code>``), else the ``ONEGRID_LANG``
setting.
"""

from __future__ import annotations

import flask

LANG_COOKIE = "onegrid_lang"
DEFAULT_LANG = "zh-CN"

MESSAGES: dict[str, dict[str, str]] = {
    "app.title": {"zh-CN": "一网统管 · 城市运行管理指挥中心",
                  "en": "OneGrid · City Operations Command Center"},
    "app.short": {"zh-CN": "一网统管", "en": "OneGrid"},
    "lang.switch": {"zh-CN": "English", "en": "中文"},
    "nav.overview": {"zh-CN": "城市概览", "en": "Overview"},
    "nav.logout": {"zh-CN": "退出登录", "en": "Sign out"},
    "login.title": {"zh-CN": "登录", "en": "Sign in"},
    "login.username": {"zh-CN": "用户名", "en": "Username"},
    "login.password": {"zh-CN": "密码", "en": "Password"},
    "login.submit": {"zh-CN": "登录", "en": "Sign in"},
    "login.bad_credentials": {"zh-CN": "用户名或密码错误。", "en": "Wrong username or password."},
    "login.locked": {
        "zh-CN": "登录失败次数过多，账号已锁定 15 分钟，请稍后再试或联系管理员。",
        "en": "Too many failed sign-ins: the account is locked for 15 minutes. "
              "Try again later or ask an administrator.",
    },
    "login.inactive": {"zh-CN": "账号已停用，请联系管理员。",
                       "en": "This account is disabled; ask an administrator."},
    "login.csrf": {"zh-CN": "表单已过期，请重新提交。",
                   "en": "The form expired; please submit it again."},
    "login.missing": {"zh-CN": "请输入用户名和密码。", "en": "Enter a username and a password."},
    "forbidden.title": {"zh-CN": "无权访问", "en": "Not allowed"},
    "forbidden.text": {"zh-CN": "您的角色无权查看此页面。",
                       "en": "Your role may not see this page."},
    "role.command": {"zh-CN": "指挥中心", "en": "Command center"},
    "role.inspector": {"zh-CN": "网格员", "en": "Grid inspector"},
    "role.handler": {"zh-CN": "处置人员", "en": "Handler"},
    "role.leader": {"zh-CN": "领导", "en": "Leader"},
    "role.admin": {"zh-CN": "系统管理员", "en": "Administrator"},
    "role.shop_owner": {"zh-CN": "商户", "en": "Shop owner"},
    "level.city": {"zh-CN": "市", "en": "City"},
    "level.district": {"zh-CN": "区/县", "en": "District"},
    "level.street": {"zh-CN": "街道/镇", "en": "Street"},
    "level.community": {"zh-CN": "社区/村", "en": "Community"},
    "level.grid": {"zh-CN": "单元网格", "en": "Unit grid"},
    "overview.title": {"zh-CN": "城市概览", "en": "City overview"},
    "overview.show_level": {"zh-CN": "显示层级", "en": "Show level"},
    "overview.area": {"zh-CN": "所选区域", "en": "Selected area"},
    "overview.all_city": {"zh-CN": "全市", "en": "Whole city"},
    "overview.any": {"zh-CN": "全部", "en": "All"},
    "count.districts": {"zh-CN": "区/县", "en": "Districts"},
    "count.streets": {"zh-CN": "街道", "en": "Streets"},
    "count.communities": {"zh-CN": "社区", "en": "Communities"},
    "count.grids": {"zh-CN": "单元网格", "en": "Unit grids"},
    "count.components": {"zh-CN": "城市部件", "en": "Components"},
    "count.devices": {"zh-CN": "物联设备", "en": "IoT devices"},
    "count.shops": {"zh-CN": "门前三包商户", "en": "Shops"},
    "count.inspectors": {"zh-CN": "网格员", "en": "Inspectors"},
    "count.area_km2": {"zh-CN": "面积 (km²)", "en": "Area (km²)"},
    "map.inspector": {"zh-CN": "网格员", "en": "Inspector"},
    "map.components": {"zh-CN": "部件数", "en": "Components"},
    "map.area_m2": {"zh-CN": "面积 (m²)", "en": "Area (m²)"},
    "map.code": {"zh-CN": "编码", "en": "Code"},
    "error.bad_area": {"zh-CN": "区域编码无效（应为 6、9、12 或 15 位数字）：",
                       "en": "Invalid area code (6, 9, 12 or 15 digits expected): "},
    "error.bad_level": {"zh-CN": "未知的显示层级：", "en": "Unknown level: "},
    "error.empty_area": {"zh-CN": "该区域内没有单元网格：", "en": "No unit grids in area "},
    "error.bad_selection": {"zh-CN": "无法显示所选区域或层级，请重新选择。",
                            "en": "This area or level cannot be shown; please pick again."},
}


def add_messages(messages: dict[str, dict[str, str]]) -> None:
    """Add a page's texts (each page module keeps its own table beside its layout). A key
    may be added twice only with the same texts."""
    for key, entry in messages.items():
        if "zh-CN" not in entry or "en" not in entry:
            raise ValueError(f"text {key!r} needs zh-CN and en")
        if key in MESSAGES and MESSAGES[key] != entry:
            raise ValueError(f"text {key!r} is defined twice with different texts")
        MESSAGES[key] = entry


def current_lang() -> str:
    """The language of the current request (cookie, else the setting, else zh-CN)."""
    if flask.has_request_context():
        lang = flask.request.cookies.get(LANG_COOKIE)
        if lang in ("zh-CN", "en"):
            return lang
        services = flask.current_app.extensions.get("onegrid")
        if services is not None:
            return services.settings.lang
    return DEFAULT_LANG


def t(key: str, lang: str | None = None) -> str:
    """The text for ``key`` in ``lang`` (default: the request's); the key itself if unknown."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    lang = lang or current_lang()
    return entry.get(lang) or entry[DEFAULT_LANG]
