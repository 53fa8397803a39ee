"""Open311 GeoReport v2 format layer (市民上报接口): pure functions, no Flask, no database.

Written from the GeoReport v2 specification (http://wiki.open311.org/GeoReport_v2) and its
Service Discovery page (http://wiki.open311.org/Service_Discovery). The routes under
``/open311/v2/`` are thin: they call :func:`services_from_catalogue`,
:func:`parse_post_request`, :func:`parse_request_filters`, :func:`request_to_open311` and
hand the result to :func:`render`. Nothing here raises on bad client input: it returns a list
of :class:`Error` that renders as the spec's ``<errors><error>…`` (or the JSON array), with
:func:`http_status` giving the HTTP status to send.

Service codes name a category: ``E0503`` is event type 0503 (城市事件), ``C0101`` component
type 0101 (城市部件). Requests are identified by the case code (案件编号), never the row id.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
DEFAULT_LANG = "zh-CN"
LANGS = ("zh-CN", "en")
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
STATUSES = ("open", "closed")
#: GET requests: the spec's default window and the most it may span ("may not span more than
#: 90 days"), and its response volume ("first 1000 requests returned").
WINDOW = timedelta(days=90)
MAX_REQUESTS = 1000
MAX_DESCRIPTION = 4000
MAX_MEDIA_URL = 2048
MAX_SHORT = 200
ROOTS = ("services", "service_requests", "service_definition", "errors", "discovery")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
#: Spark convention (JSON_and_XML_Conversion): a JSON array is an XML container whose
#: children all carry one name.
XML_ITEM_NAMES = {
    "services": "service", "service_requests": "request", "errors": "error",
    "attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format",
}
#: Component types (部件小类) a citizen can see and report: covers, hydrant, lights, signs,
#: signals, toilets, signboards, bins, trees. Cameras and monitoring points are not offered.
CITIZEN_COMPONENT_CODES = frozenset({
    "0101", "0102", "0103", "0105", "0107", "0111", "0117", "0122",
    "0209", "0210", "0301", "0305", "0308", "0404",
})
KIND_PREFIX = {"event": "E", "component": "C"}

_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,20}$")
_SERVICE_CODE = re.compile(r"^([EC])(\d{4})$")
_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]{2,}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{3,30}$")
_HTML = re.compile(r"<\s*/?\s*[A-Za-z!][^>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_W3C = re.compile(
    r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$"
)


class CategoryLike(Protocol):
    """What is read from a category (``data.config.CategoryType`` fits)."""

    code: str
    major_code: str
    major_name: str
    name: str
    name_en: str


# -- values ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Error:
    """One Open311 error: ``code`` is the HTTP status it calls for, ``description`` says what
    was wrong and what to do."""

    code: int
    description: str

    def to_open311(self) -> dict[str, Any]:
        return {"code": self.code, "description": self.description}


@dataclass(frozen=True)
class AttributeValue:
    key: str
    name: str


@dataclass(frozen=True)
class Attribute:
    """One field of a service definition (``<attribute>``)."""

    code: str
    datatype: str
    required: bool
    description: str
    order: int
    variable: bool = True
    datatype_description: str | None = None
    values: tuple[AttributeValue, ...] = ()

    def to_open311(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "variable": self.variable, "code": self.code, "datatype": self.datatype,
            "required": self.required, "datatype_description": self.datatype_description,
            "order": self.order, "description": self.description,
        }
        if self.datatype in ("singlevaluelist", "multivaluelist"):
            out["values"] = [{"key": v.key, "name": v.name} for v in self.values]
        return out


@dataclass(frozen=True)
class Service:
    """One Open311 service (a category citizens can report). ``metadata`` is true exactly
    when the service has a definition with attributes."""

    service_code: str
    service_name: str
    description: str
    keywords: str
    group: str
    type: str = "realtime"
    attributes: tuple[Attribute, ...] = ()

    @property
    def metadata(self) -> bool:
        return bool(self.attributes)

    def to_open311(self) -> dict[str, Any]:
        return {
            "service_code": self.service_code, "service_name": self.service_name,
            "description": self.description, "metadata": self.metadata, "type": self.type,
            "keywords": self.keywords, "group": self.group,
        }

    def definition_to_open311(self) -> dict[str, Any]:
        """The ``GET services/{code}`` body (render with root ``service_definition``)."""
        ordered = sorted(self.attributes, key=lambda a: a.order)
        return {"service_code": self.service_code,
                "attributes": [a.to_open311() for a in ordered]}


@dataclass(frozen=True)
class NewRequest:
    """A valid ``POST requests`` (市民上报), location in EPSG:4326 (``lon``/``lat``).

    ``api_key`` is only checked for presence here: the route verifies it.
    ``attributes`` maps an attribute code to its values (one, or several for a
    multivaluelist).
    """

    service_code: str
    api_key: str | None = None
    jurisdiction_id: str | None = None
    lon: float | None = None
    lat: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str | None = None
    media_url: str | None = None
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Filters:
    """A valid ``GET requests`` query.

    When ``service_request_ids`` is set it overrides every other argument (as the spec says):
    ``start``/``end`` are then None. Otherwise ``start <= requested_datetime <= end`` and
    ``end - start`` is at most :data:`WINDOW`. Return at most ``limit`` requests, newest first.
    """

    service_request_ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = STATUSES
    start: datetime | None = None
    end: datetime | None = None
    limit: int = MAX_REQUESTS


# -- messages ----------------------------------------------------------------------------

_MESSAGES: dict[str, tuple[str, str]] = {
    # key: (en, zh-CN)
    "api_key": ("api_key is required to create a request: ask the city for a key.",
                "提交上报需要 api_key，请向城市管理部门申请。"),
    "service_code.missing": ("service_code is required: pick one from GET services.",
                             "缺少 service_code，请先调用 GET services 选择类别。"),
    "service_code.unknown": ("service_code {value!r} was not found: pick one from GET services.",
                             "找不到 service_code {value!r}，请从 GET services 中选择。"),
    "location.missing": ("A location is required: send lat and long, or address_string, "
                         "or address_id.",
                         "缺少位置：请提交 lat 和 long，或 address_string，或 address_id。"),
    "location.pair": ("lat and long must be sent together.", "lat 和 long 必须同时提交。"),
    "lat": ("lat must be a number between -90 and 90 (WGS84 degrees), got {value!r}.",
            "lat 须为 -90 到 90 之间的数字（WGS84 度），收到 {value!r}。"),
    "long": ("long must be a number between -180 and 180 (WGS84 degrees), got {value!r}.",
             "long 须为 -180 到 180 之间的数字（WGS84 度），收到 {value!r}。"),
    "too_long": ("{name} is limited to {limit} characters; {length} were sent.",
                 "{name} 最多 {limit} 个字符，收到 {length} 个。"),
    "control": ("{name} contains control characters: remove them.",
                "{name} 含有控制字符，请删除。"),
    "line_break": ("{name} must be a single line.", "{name} 不能换行。"),
    "html": ("description may contain line breaks but not HTML or code: remove the tags.",
             "问题描述可以换行，但不能包含 HTML 或代码，请删除标签。"),
    "email": ("email {value!r} is not an email address (name@example.org).",
              "email {value!r} 不是有效的电子邮件地址（如 name@example.org）。"),
    "phone": ("phone {value!r} is not a phone number: use digits, spaces, '+', '-', '()'.",
              "phone {value!r} 不是有效的电话号码：只能包含数字、空格、+、-、()。"),
    "media_url": ("media_url must be an http:// or https:// URL, got {value!r}.",
                  "media_url 须为 http:// 或 https:// 开头的网址，收到 {value!r}。"),
    "attr.unknown": ("attribute[{code}] is not part of service {service}: see GET services/"
                     "{service}.",
                     "attribute[{code}] 不属于类别 {service}，请查看 GET services/{service}。"),
    "attr.required": ("attribute[{code}] is required for service {service}: {description}",
                      "类别 {service} 必须填写 attribute[{code}]：{description}"),
    "attr.single": ("attribute[{code}] takes one value, {count} were sent.",
                    "attribute[{code}] 只能有一个值，收到 {count} 个。"),
    "attr.number": ("attribute[{code}] must be a number, got {value!r}.",
                    "attribute[{code}] 须为数字，收到 {value!r}。"),
    "attr.datetime": ("attribute[{code}] must be a date and time like 2024-05-01T08:30:00+08:00, "
                      "got {value!r}.",
                      "attribute[{code}] 须为日期时间，如 2024-05-01T08:30:00+08:00，"
                      "收到 {value!r}。"),
    "attr.choice": ("attribute[{code}]: {value!r} is not one of the keys {keys}.",
                    "attribute[{code}]：{value!r} 不在可选值 {keys} 中。"),
    "ids.bad": ("service_request_id must be a comma separated list of request ids, "
                "got {value!r}.",
                "service_request_id 须为以逗号分隔的编号列表，收到 {value!r}。"),
    "ids.many": ("At most {limit} service_request_id values can be asked for at once.",
                 "一次最多查询 {limit} 个 service_request_id。"),
    "codes.bad": ("service_code must be a comma separated list of service codes, got {value!r}.",
                  "service_code 须为以逗号分隔的类别编码列表，收到 {value!r}。"),
    "status": ("status must be open, closed or both (comma separated), got {value!r}.",
               "status 须为 open、closed 或两者（逗号分隔），收到 {value!r}。"),
    "date": ("{name} must be a W3C date-time with a time zone, like 2010-01-01T00:00:00Z, "
             "got {value!r}.",
             "{name} 须为带时区的 W3C 日期时间，如 2010-01-01T00:00:00Z，收到 {value!r}。"),
    "date.order": ("start_date is after end_date.", "start_date 晚于 end_date。"),
    "date.span": ("start_date and end_date may not span more than {days} days: narrow the range "
                  "or make several queries.",
                  "start_date 与 end_date 的间隔不能超过 {days} 天，请缩小范围或分多次查询。"),
}

#: Default status notes by case state, used when the case has no public note of its own.
STATE_NOTES: dict[str, tuple[str, str]] = {
    "reported": ("Received; awaiting registration.", "已受理上报，等待立案。"),
    "registered": ("Registered as a case.", "已立案。"),
    "dispatched": ("Sent to the responsible department.", "已派遣至责任部门。"),
    "accepted": ("Being handled.", "处置中。"),
    "handled": ("Handled; awaiting verification.", "已处置，等待核实。"),
    "verified": ("Verified; awaiting closure.", "已核实，等待结案。"),
    "suspended": ("On hold.", "已挂账。"),
    "closed": ("Resolved and closed.", "已结案。"),
    "declined": ("Not registered as a case.", "不予立案。"),
    "void": ("Withdrawn.", "已作废。"),
}


def _lang(lang: str) -> int:
    return 0 if lang == "en" else 1


def _msg(key: str, lang: str, **kw: Any) -> str:
    return _MESSAGES[key][_lang(lang)].format(**kw)


def http_status(errors: Sequence[Error]) -> int:
    """The HTTP status for a list of errors: 403 (api key) before 404 (not found) before 400."""
    codes = {e.code for e in errors}
    return next((c for c in (403, 404) if c in codes), 400)


# -- services ----------------------------------------------------------------------------


def service_code_for(kind: str, code: str) -> str:
    """``("event", "0503")`` → ``"E0503"``; ``("component", "0101")`` → ``"C0101"``."""
    return KIND_PREFIX[kind] + code


def parse_service_code(service_code: str) -> tuple[str, str] | None:
    """``"E0503"`` → ``("event", "0503")``; None if it is not of that shape."""
    m = _SERVICE_CODE.match(service_code or "")
    if not m:
        return None
    return ("event" if m.group(1) == "E" else "component"), m.group(2)


_V = tuple[str, str, str]  # key, en, zh-CN


def _raw(code: str, datatype: str, required: bool, order: int, en: str, zh: str,
         values: Sequence[_V] = ()) -> tuple[Any, ...]:
    return code, datatype, required, order, en, zh, tuple(values)


_COVER = _raw("cover_problem", "singlevaluelist", True, 1,
              "What is wrong with the cover?", "井盖出了什么问题？",
              [("missing", "Missing", "缺失"), ("broken", "Broken or cracked", "破损"),
               ("displaced", "Displaced or tilted", "移位或倾斜"),
               ("loose", "Loose or noisy", "松动或异响")])
#: Service definitions (服务定义) by service code, in both languages. Only these services have
#: ``metadata`` true. Replace with ``definitions=`` when the table moves to data/config.
DEFINITIONS: dict[str, tuple[tuple[Any, ...], ...]] = {
    **{f"C{c}": (_COVER,) for c in ("0101", "0102", "0103", "0105", "0107", "0111")},
    "C0122": (_raw("light_problem", "singlevaluelist", True, 1,
                   "What is wrong with the light?", "路灯出了什么问题？",
                   [("off", "Off at night", "夜间不亮"), ("day", "On in daytime", "白天亮灯"),
                    ("flicker", "Flickering", "闪烁"),
                    ("pole", "Pole or lamp damaged", "灯杆或灯具损坏")]),),
    "C0305": (_raw("sign_problem", "singlevaluelist", True, 1,
                   "What is wrong with the signboard?", "广告牌匾出了什么问题？",
                   [("tilted", "Tilted, may fall", "倾斜，有坠落风险"),
                    ("damaged", "Damaged", "破损"), ("lights", "Lights broken", "灯光损坏")]),),
    "C0308": (_raw("bin_problem", "singlevaluelist", True, 1,
                   "What is wrong with the bin?", "垃圾箱出了什么问题？",
                   [("full", "Full or overflowing", "满溢"), ("damaged", "Damaged", "破损"),
                    ("missing", "Missing", "缺失"), ("smell", "Smells", "异味")]),),
    "E0401": (_raw("water_depth_cm", "number", False, 1,
                   "About how deep is the water, in centimetres?", "积水大约多深（厘米）？"),),
    "E0503": (_raw("vehicle_count", "number", False, 1,
                   "About how many bicycles or scooters?", "大约有多少辆非机动车？"),),
}


def _attributes(raw: Iterable[tuple[Any, ...]], lang: str) -> tuple[Attribute, ...]:
    i = _lang(lang)
    out = []
    for code, datatype, required, order, en, zh, values in raw:
        out.append(Attribute(
            code=code, datatype=datatype, required=required, order=order,
            description=(en, zh)[i],
            values=tuple(AttributeValue(k, (ven, vzh)[i]) for k, ven, vzh in values),
        ))
    return tuple(out)


def _group(t: CategoryLike, lang: str, group_names: Mapping[str, str] | None,
           prefix: str) -> str:
    if group_names and f"{prefix}{t.major_code}" in group_names:
        return group_names[f"{prefix}{t.major_code}"]
    if lang == "en":
        return getattr(t, "major_name_en", None) or t.major_name
    return t.major_name


def services_from_catalogue(
    event_types: Iterable[CategoryLike],
    component_types: Iterable[CategoryLike],
    lang: str = DEFAULT_LANG,
    *,
    component_codes: Iterable[str] = CITIZEN_COMPONENT_CODES,
    definitions: Mapping[str, Iterable[tuple[Any, ...]]] = DEFINITIONS,
    group_names: Mapping[str, str] | None = None,
) -> list[Service]:
    """The services citizens can report: every event type (``E`` + code), then the component
    types in ``component_codes`` (``C`` + code), in catalogue order.

    ``group`` is the major class name (大类): ``group_names`` keyed ``"E05"``/``"C01"`` when
    given, else the category's ``major_name_en`` (English; when set) or ``major_name``.
    """
    en = lang == "en"
    allowed = set(component_codes)
    out: list[Service] = []
    kinds = (("E", "Event", "城市事件", list(event_types), None),
             ("C", "Component", "城市部件", list(component_types), allowed))
    for prefix, kind_en, kind_zh, types, only in kinds:
        for t in types:
            if only is not None and t.code not in only:
                continue
            code = prefix + t.code
            name = t.name_en if en else t.name
            group = _group(t, lang, group_names, prefix)
            if en:
                description = f"{kind_en} ({group}): {name}."
            else:
                description = f"{kind_zh}（{group}）：{name}。"
            keywords = ", ".join(dict.fromkeys(
                [t.name, t.name_en, group, kind_en if en else kind_zh]))
            out.append(Service(
                service_code=code, service_name=name, description=description,
                keywords=keywords, group=group,
                attributes=_attributes(definitions.get(code, ()), lang),
            ))
    return out


# -- POST requests -----------------------------------------------------------------------


def _values(form: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    if callable(getlist):
        raw: Any = getlist(key)
    else:
        raw = form.get(key)
    if raw is None:
        return []
    if isinstance(raw, (list, tuple)):
        return [str(v) for v in raw]
    return [str(raw)]


def _one(form: Mapping[str, Any], key: str) -> str | None:
    """The field's first value, stripped; None when absent or empty ("Optional Arguments":
    an empty parameter is treated as not sent)."""
    vals = _values(form, key)
    if not vals:
        return None
    value = vals[0].strip()
    return value or None


def _float(text: str | None, low: float, high: float) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    if value is None or not math.isfinite(value) or not low <= value <= high:
        return None
    return value


def _text(name: str, value: str | None, limit: int, lang: str, errors: list[Error], *,
          multiline: bool = False) -> str | None:
    if value is None:
        return None
    if len(value) > limit:
        errors.append(Error(400, _msg("too_long", lang, name=name, limit=limit,
                                      length=len(value))))
    if _CONTROL.search(value):
        errors.append(Error(400, _msg("control", lang, name=name)))
    elif not multiline and ("\n" in value or "\r" in value):
        errors.append(Error(400, _msg("line_break", lang, name=name)))
    return value


def _http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


def parse_w3c_datetime(text: str) -> datetime | None:
    """A W3C date-time (the spec's ISO 8601 subset) → aware datetime; None if not one.

    A time must carry its zone (``Z`` or ``±hh:mm``); a date alone means 00:00 UTC.
    """
    text = (text or "").strip()
    if not _W3C.match(text):
        return None
    try:
        if "T" not in text:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _check_attributes(service: Service, sent: Mapping[str, list[str]], lang: str,
                      errors: list[Error]) -> dict[str, tuple[str, ...]]:
    defined = {a.code: a for a in service.attributes if a.variable}
    for code in sent:
        if code not in defined:
            errors.append(Error(400, _msg("attr.unknown", lang, code=code,
                                          service=service.service_code)))
    out: dict[str, tuple[str, ...]] = {}
    for attr in sorted(defined.values(), key=lambda a: a.order):
        values = [v.strip() for v in sent.get(attr.code, []) if v.strip()]
        if not values:
            if attr.required:
                errors.append(Error(400, _msg("attr.required", lang, code=attr.code,
                                              service=service.service_code,
                                              description=attr.description)))
            continue
        if attr.datatype != "multivaluelist" and len(values) > 1:
            errors.append(Error(400, _msg("attr.single", lang, code=attr.code,
                                          count=len(values))))
            continue
        ok = True
        for value in values:
            if attr.datatype == "number" and _float(value, -math.inf, math.inf) is None:
                errors.append(Error(400, _msg("attr.number", lang, code=attr.code,
                                              value=value)))
                ok = False
            elif attr.datatype == "datetime" and parse_w3c_datetime(value) is None:
                errors.append(Error(400, _msg("attr.datetime", lang, code=attr.code,
                                              value=value)))
                ok = False
            elif attr.datatype in ("singlevaluelist", "multivaluelist"):
                keys = [v.key for v in attr.values]
                if value not in keys:
                    errors.append(Error(400, _msg("attr.choice", lang, code=attr.code,
                                                  value=value, keys=", ".join(keys))))
                    ok = False
            elif attr.datatype in ("string", "text"):
                before = len(errors)
                _text(f"attribute[{attr.code}]", value, MAX_DESCRIPTION, lang, errors,
                      multiline=attr.datatype == "text")
                ok = len(errors) == before
        if ok:
            out[attr.code] = tuple(values)
    return out


def parse_post_request(
    form: Mapping[str, Any],
    services: Iterable[Service],
    *,
    lang: str = DEFAULT_LANG,
    require_api_key: bool = True,
) -> NewRequest | list[Error]:
    """Validate a ``POST requests`` form → :class:`NewRequest`, or every problem found as
    :class:`Error` (403 missing api_key, 404 unknown service_code, 400 the rest).

    ``form`` maps field names to a string, or to a list of strings (werkzeug's
    ``to_dict(flat=False)`` or a ``MultiDict``) so that a multivaluelist can be sent as
    ``attribute[code][]=a&attribute[code][]=b``. Never raises on bad input.
    """
    errors: list[Error] = []
    by_code = {s.service_code: s for s in services}

    api_key = _one(form, "api_key")
    if require_api_key and api_key is None:
        errors.append(Error(403, _msg("api_key", lang)))

    code = _one(form, "service_code")
    service = by_code.get(code) if code else None
    if code is None:
        errors.append(Error(400, _msg("service_code.missing", lang)))
    elif service is None:
        errors.append(Error(404, _msg("service_code.unknown", lang, value=code)))

    lat_text, lon_text = _one(form, "lat"), _one(form, "long")
    address_string = _text("address_string", _one(form, "address_string"), MAX_SHORT, lang,
                           errors)
    address_id = _text("address_id", _one(form, "address_id"), MAX_SHORT, lang, errors)
    lat = lon = None
    if (lat_text is None) != (lon_text is None):
        errors.append(Error(400, _msg("location.pair", lang)))
    elif lat_text is not None:
        lat = _float(lat_text, -90.0, 90.0)
        lon = _float(lon_text, -180.0, 180.0)
        if lat is None:
            errors.append(Error(400, _msg("lat", lang, value=lat_text)))
        if lon is None:
            errors.append(Error(400, _msg("long", lang, value=lon_text)))
    elif address_string is None and address_id is None:
        errors.append(Error(400, _msg("location.missing", lang)))

    description = _text("description", _one(form, "description"), MAX_DESCRIPTION, lang,
                        errors, multiline=True)
    if description is not None and _HTML.search(description):
        errors.append(Error(400, _msg("html", lang)))

    email = _text("email", _one(form, "email"), 254, lang, errors)
    if email is not None and not _EMAIL.match(email):
        errors.append(Error(400, _msg("email", lang, value=email)))
    phone = _text("phone", _one(form, "phone"), 32, lang, errors)
    if phone is not None and not _PHONE.match(phone):
        errors.append(Error(400, _msg("phone", lang, value=phone)))
    media_url = _text("media_url", _one(form, "media_url"), MAX_MEDIA_URL, lang, errors)
    if media_url is not None and not _http_url(media_url):
        errors.append(Error(400, _msg("media_url", lang, value=media_url)))
    short = {name: _text(name, _one(form, name), MAX_SHORT, lang, errors)
             for name in ("jurisdiction_id", "device_id", "account_id", "first_name",
                          "last_name")}

    sent: dict[str, list[str]] = {}
    for key in form:
        m = _ATTRIBUTE_KEY.match(str(key))
        if m:
            sent.setdefault(m.group(1), []).extend(_values(form, key))
    attributes = _check_attributes(service, sent, lang, errors) if service else {}

    if errors or code is None:
        return errors
    return NewRequest(
        service_code=code, api_key=api_key, lon=lon, lat=lat,
        address_string=address_string, address_id=address_id, email=email, phone=phone,
        description=description, media_url=media_url, attributes=attributes, **short,
    )


def post_response(service_request_id: str | None = None, *, token: str | None = None,
                  service_notice: str | None = None,
                  account_id: str | None = None) -> list[dict[str, Any]]:
    """The ``POST requests`` body (root ``service_requests``): a ``service_request_id``
    (realtime services) or a ``token`` (batch), never both."""
    if (service_request_id is None) == (token is None):
        raise ValueError("give exactly one of service_request_id and token")
    item: dict[str, Any] = ({"service_request_id": service_request_id}
                            if token is None else {"token": token})
    item.update(service_notice=service_notice, account_id=account_id)
    return [item]


# -- GET requests ------------------------------------------------------------------------


def _list(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def parse_request_filters(
    args: Mapping[str, Any], now: datetime, *, lang: str = DEFAULT_LANG,
) -> Filters | list[Error]:
    """Validate a ``GET requests`` query → :class:`Filters`, or the problems as 400 errors.

    Following the spec: ``service_request_id`` (comma list) overrides every other argument;
    ``service_code`` and ``status`` are comma lists; ``start_date``/``end_date`` are W3C
    date-times. With neither date the window is the 90 days before ``now``; with one, the
    other is 90 days away from it; with both, a span over 90 days is refused (400), since the
    spec says the range "may not span more than 90 days" — a client is told to narrow it
    rather than silently given part of what it asked for. At most 1000 requests come back.
    ``now`` must be timezone-aware.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    errors: list[Error] = []
    ids_text = _one(args, "service_request_id")
    if ids_text is not None:
        ids = list(dict.fromkeys(_list(ids_text)))
        if not ids or not all(_CODE.match(i) for i in ids):
            return [Error(400, _msg("ids.bad", lang, value=ids_text))]
        if len(ids) > MAX_REQUESTS:
            return [Error(400, _msg("ids.many", lang, limit=MAX_REQUESTS))]
        return Filters(service_request_ids=tuple(ids), statuses=STATUSES)

    codes_text = _one(args, "service_code")
    codes = list(dict.fromkeys(_list(codes_text)))
    if codes_text is not None and (not codes or not all(_CODE.match(c) for c in codes)):
        errors.append(Error(400, _msg("codes.bad", lang, value=codes_text)))

    status_text = _one(args, "status")
    statuses: tuple[str, ...] = STATUSES
    if status_text is not None:
        wanted = {s.lower() for s in _list(status_text)}
        if not wanted or not wanted <= set(STATUSES):
            errors.append(Error(400, _msg("status", lang, value=status_text)))
        else:
            statuses = tuple(s for s in STATUSES if s in wanted)

    dates: dict[str, datetime | None] = {}
    for name in ("start_date", "end_date"):
        text = _one(args, name)
        dates[name] = parse_w3c_datetime(text) if text is not None else None
        if text is not None and dates[name] is None:
            errors.append(Error(400, _msg("date", lang, name=name, value=text)))
    if errors:
        return errors

    start, end = dates["start_date"], dates["end_date"]
    if start is None and end is None:
        end = now
    if start is None:
        start = end - WINDOW
    elif end is None:
        end = start + WINDOW
    if start > end:
        return [Error(400, _msg("date.order", lang))]
    if end - start > WINDOW:
        return [Error(400, _msg("date.span", lang, days=WINDOW.days))]
    return Filters(service_codes=tuple(codes), statuses=statuses, start=start, end=end)


def format_datetime(value: datetime | str | None, tz: tzinfo | None = None) -> str | None:
    """ISO 8601 (W3C) with offset, to the second: ``2024-05-01T08:30:00+08:00``.

    A naive datetime is taken as UTC (the database stores UTC); ``tz`` converts for display.
    A string is parsed first, so what goes out is always in one shape.
    """
    if value is None:
        return None
    if isinstance(value, str):
        parsed = parse_w3c_datetime(value)
        if parsed is None:
            raise ValueError(f"not a W3C date-time: {value!r}")
        value = parsed
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if tz is not None:
        value = value.astimezone(tz)
    return value.replace(microsecond=0).isoformat()


def open311_status(state_category: str) -> Literal["open", "closed"]:
    """The case's state category (open/closed/hidden) → Open311 status.

    Open311 knows only open and closed: a hidden case (declined 不予立案, void 作废) is
    ``closed``. Lists should leave hidden cases out; a citizen asking for their own request
    by id still learns it is closed, and why, from ``status_notes``.
    """
    if state_category == "open":
        return "open"
    if state_category in ("closed", "hidden"):
        return "closed"
    raise ValueError(f"unknown state category {state_category!r} (open, closed or hidden)")


def request_to_open311(case_like: Mapping[str, Any], *, lang: str = DEFAULT_LANG,
                       tz: tzinfo | None = None) -> dict[str, Any]:
    """A case read model as a plain mapping → one Open311 ``request``.

    Keys read: ``code`` (→ service_request_id), ``state``, ``state_category``
    (open/closed/hidden), ``service_code`` and ``service_name`` (or ``category`` as a
    mapping with ``service_code`` and ``name``, or ``category_kind``/``category_code``),
    ``description``, ``address``, ``lon``, ``lat``, ``reported_at``, ``updated_at``,
    ``expected_at``, ``department_name``, ``status_notes`` (the note of the case's last
    public event; a default for the state when absent), ``service_notice``, ``media_url``,
    ``address_id``, ``zipcode``. Every spec field is present, null when unknown.
    """
    category = case_like.get("category")
    category = category if isinstance(category, Mapping) else {}
    service_code = case_like.get("service_code") or category.get("service_code")
    if not service_code and case_like.get("category_kind"):
        service_code = service_code_for(case_like["category_kind"], case_like["category_code"])
    service_name = case_like.get("service_name") or category.get("name")
    notes = case_like.get("status_notes")
    if not notes and case_like.get("state") in STATE_NOTES:
        notes = STATE_NOTES[case_like["state"]][_lang(lang)]
    lon, lat = case_like.get("lon"), case_like.get("lat")
    return {
        "service_request_id": str(case_like["code"]),
        "status": open311_status(case_like["state_category"]),
        "status_notes": notes or None,
        "service_name": service_name,
        "service_code": service_code,
        "description": case_like.get("description") or None,
        "agency_responsible": case_like.get("department_name") or None,
        "service_notice": case_like.get("service_notice") or None,
        "requested_datetime": format_datetime(case_like["reported_at"], tz),
        "updated_datetime": format_datetime(
            case_like.get("updated_at") or case_like["reported_at"], tz),
        "expected_datetime": format_datetime(case_like.get("expected_at"), tz),
        "address": case_like.get("address") or None,
        "address_id": case_like.get("address_id") or None,
        "zipcode": case_like.get("zipcode") or None,
        "lat": float(lat) if lat is not None else None,
        "long": float(lon) if lon is not None else None,
        "media_url": case_like.get("media_url") or None,
    }


# -- discovery ---------------------------------------------------------------------------


def discovery(url: str, *, changeset: str, contact: str, key_service: str,
              endpoint_type: str = "production",
              formats: Sequence[str] = ("text/xml", "application/json")) -> dict[str, Any]:
    """The Service Discovery document (root ``discovery``) for one GeoReport v2 endpoint."""
    return {
        "changeset": changeset, "contact": contact, "key_service": key_service,
        "endpoints": [{
            "specification": SPECIFICATION, "url": url, "changeset": changeset,
            "type": endpoint_type, "formats": list(formats),
        }],
    }


# -- rendering ---------------------------------------------------------------------------


def _plain(payload: Any) -> Any:
    if hasattr(payload, "to_open311"):
        return payload.to_open311()
    if isinstance(payload, (list, tuple)):
        return [_plain(p) for p in payload]
    return payload


def _xml_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value)
    return _XML_INVALID.sub("", str(value))


def _xml_fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            if isinstance(child, (list, tuple)):
                container = ET.SubElement(element, key)
                item_name = XML_ITEM_NAMES.get(key)
                if item_name is None:
                    raise ValueError(f"no XML item name for list {key!r}")
                for item in child:
                    _xml_fill(ET.SubElement(container, item_name), item)
            else:
                _xml_fill(ET.SubElement(element, key), child)
    else:
        element.text = _xml_text(value)


def render(payload: Any, fmt: str, root: str) -> tuple[bytes, str]:
    """Encode a response body → ``(bytes, content_type)``, UTF-8.

    ``payload`` is what the spec's JSON shows — a list for ``services``,
    ``service_requests`` and ``errors``, a mapping for ``service_definition`` and
    ``discovery`` — or :class:`Service`/:class:`Error` objects, turned into it here. XML
    follows the spec's element names: ``<services><service>…``, ``<service_requests>
    <request>…``, ``<errors><error>…``, ``<service_definition>…<attributes><attribute>…
    <values><value>…``, ``<discovery>…<endpoints><endpoint>…<formats><format>…``; booleans
    are ``true``/``false``, null is an empty element.
    """
    if fmt not in CONTENT_TYPES:
        raise ValueError(f"format must be json or xml, not {fmt!r}")
    if root not in ROOTS:
        raise ValueError(f"root must be one of {ROOTS}, not {root!r}")
    data = _plain(payload)
    is_list = root in ("services", "service_requests", "errors")
    if is_list != isinstance(data, list):
        raise ValueError(f"{root} needs a {'list' if is_list else 'mapping'}")
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return body.encode("utf-8"), CONTENT_TYPES["json"]
    element = ET.Element(root)
    if is_list:
        for item in data:
            _xml_fill(ET.SubElement(element, XML_ITEM_NAMES[root]), item)
    else:
        _xml_fill(element, data)
    body = ET.tostring(element, encoding="unicode")
    return (b'<?xml version="1.0" encoding="utf-8"?>\n' + body.encode("utf-8"),
            CONTENT_TYPES["xml"])
