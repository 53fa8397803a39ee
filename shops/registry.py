"""The shop registry (商户台账) import: rows of a CSV or XLSX file → checked plain values.

A bureau keeps its shop list in a spreadsheet. This module reads such a file and checks each
row on its own: a row that fails is reported with its line number (as a spreadsheet shows it:
the header is line 1) and a reason in Chinese and English, and the good rows go on. Column
names are accepted in Chinese or English (:data:`COLUMNS`); unknown columns are ignored and
listed. Pure: no SQL — ``data/shop_registry.py`` writes the rows.

What a row must hold:

- a name (店名);
- a place: a location (经度/纬度, WGS84 unless 坐标系 says GCJ-02 or BD-09) or a
  responsibility zone (责任区, a WKT or GeoJSON polygon) — or both, then within
  :data:`MAX_DOOR_TO_ZONE_M` of each other;
  or, when the caller passes a ``geocode`` (the import does: :mod:`shops.geocode` on the city's
  roads), an address (地址) placed by it — ``ShopRow.geocoded``, an estimate;
- when given: a licence number (营业执照号) that is an 18-character unified social credit
  code with a right check character (GB 32100-2015) or a 15-digit registration number; a
  phone (联系电话) that is a mainland mobile, a landline with its area code or a 400/800
  number; a frontage depth (门前进深, metres) between 0.5 and 30.

A shop without a polygon gets :func:`default_zone`: a rectangle of the frontage depth in
front of its door, drawn in the local UTM zone.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely import wkt
from shapely.errors import ShapelyError
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.validation import explain_validity

from gis.crs import from_metric, to_metric, to_wgs84, utm_epsg_for
from shops.problems import DEFAULT_FRONTAGE_M

__all__ = [
    "COLUMNS",
    "DEFAULT_WIDTH_M",
    "ParseResult",
    "RegistryFileError",
    "RowError",
    "ShopRow",
    "default_zone",
    "normalise_licence",
    "normalise_phone",
    "parse_file",
    "parse_records",
    "read_table",
    "valid_uscc",
    "zone_size",
]

DEFAULT_WIDTH_M = 8.0
"""Width of a default zone along the shop front when the row gives none (门面宽度)."""

MAX_DOOR_TO_ZONE_M = 50.0
"""A row's location and its zone polygon may lie at most this far apart."""

ZONE_AREA_M2 = (0.5, 10_000.0)
"""A responsibility zone smaller or larger than this is a mistake (wrong units, a district)."""

FRONTAGE_RANGE_M = (0.5, 30.0)
WIDTH_RANGE_M = (1.0, 200.0)
MAX_ROWS = 100_000

#: Field → accepted column names (compared after :func:`_header_key`).
COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("编号", "商户编号", "code", "shop_code"),
    "name": ("店名", "商户名称", "名称", "店铺名称", "name", "shop_name"),
    "category": ("类别", "行业", "业态", "category"),
    "licence_no": ("营业执照号", "统一社会信用代码", "执照号", "营业执照", "licence_no",
                   "license_no", "licence", "license"),
    "address": ("地址", "经营地址", "address"),
    "owner_name": ("负责人", "联系人", "经营者", "owner_name", "owner"),
    "owner_phone": ("联系电话", "电话", "手机", "owner_phone", "phone"),
    "lon": ("经度", "lon", "lng", "longitude"),
    "lat": ("纬度", "lat", "latitude"),
    "crs": ("坐标系", "crs"),
    "zone": ("责任区", "责任区范围", "zone"),
    "frontage_m": ("门前进深", "进深", "frontage_m", "frontage", "depth_m"),
    "width_m": ("门面宽度", "面宽", "width_m", "frontage_width_m"),
}

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(f"[{USCC_CHARS}]{{18}}")
_REG_NO_RE = re.compile(r"\d{15}")
_MOBILE_RE = re.compile(r"1[3-9]\d{9}")
_LANDLINE_RE = re.compile(r"0\d{2,3}-?\d{7,8}(-\d{1,6})?")
_SERVICE_RE = re.compile(r"[48]00-?\d{3}-?\d{4}")


class RegistryFileError(ValueError):
    """The whole file is refused (unreadable, no header, no name or location column)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


@dataclass(frozen=True)
class RowError:
    """Why the row at ``line`` was not imported (``column`` is the field, or ``""``)."""

    line: int
    column: str
    zh: str
    en: str

    def __str__(self) -> str:
        where = f" [{self.column}]" if self.column else ""
        return f"line {self.line}{where}: {self.zh} / {self.en}"


@dataclass(frozen=True)
class ShopRow:
    """One good row: WGS84 ``lon``/``lat`` (the door), ``zone`` given or ``None`` (then the
    default one is drawn from ``frontage_m``/``width_m``)."""

    line: int
    name: str
    lon: float
    lat: float
    code: str | None = None
    category: str | None = None
    licence_no: str | None = None
    address: str | None = None
    owner_name: str | None = None
    owner_phone: str | None = None
    zone: Polygon | None = None
    frontage_m: float | None = None
    width_m: float | None = None
    location_given: bool = True
    geocoded: bool = False  # placed by its address (an estimate to check on the map)


@dataclass
class ParseResult:
    rows: list[ShopRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # field → the file's column name
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def failed_lines(self) -> list[int]:
        return sorted({e.line for e in self.errors})


# --------------------------------------------------------------------------------------------
# Reading CSV and XLSX
# --------------------------------------------------------------------------------------------


def _header_key(name: object) -> str:
    text = str(name or "").replace("\ufeff", "").strip().lower()
    text = re.sub(r"[（(\[【].*?[）)\]】]", "", text)  # units: 门前进深(米), lon (WGS84)
    return re.sub(r"[\s*＊:：]+", "", text).replace("-", "_")


_ALIASES = {_header_key(alias): fld for fld, names in COLUMNS.items() for alias in names}


def _cell(value: object) -> str:
    """A cell as text: spreadsheet numbers lose a ``.0`` (phones typed as numbers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e6:
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return str(value).strip()


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RegistryFileError("CSV 文件编码无法识别，请另存为 UTF-8",
                            "the CSV file's encoding is not UTF-8 or GBK: save it as UTF-8")


def _read_csv(data: bytes) -> list[tuple[int, list[str]]]:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for record in reader:
            out.append((start, [_cell(v) for v in record]))
            start = reader.line_num + 1
            if len(out) > MAX_ROWS + 1:
                break
    except csv.Error as exc:
        raise RegistryFileError(f"CSV 第 {start} 行无法读取：{exc}",
                                f"CSV line {start} cannot be read: {exc}") from None
    return out


def _read_xlsx(data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise RegistryFileError("XLSX 文件无法打开，请确认是 Excel 工作簿（.xlsx）",
                                f"the XLSX workbook cannot be opened: {exc}") from None
    try:
        sheet = book.worksheets[0]
        out = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
            out.append((number, [_cell(v) for v in values]))
            if len(out) > MAX_ROWS + 1:
                break
        return out
    finally:
        book.close()


def read_table(data: bytes, filename: str) -> list[tuple[int, list[str]]]:
    """``(line, cells)`` for every row of a CSV or XLSX file (by the file name's ending)."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx" or data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if suffix in (".csv", ".txt", ""):
        return _read_csv(data)
    raise RegistryFileError(f"不支持的文件类型 {suffix}：请用 .csv 或 .xlsx",
                            f"file type {suffix} not supported: use .csv or .xlsx")


# --------------------------------------------------------------------------------------------
# Checking values
# --------------------------------------------------------------------------------------------


class _CellError(ValueError):
    def __init__(self, column: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.column, self.zh, self.en = column, zh, en


def valid_uscc(code: str) -> bool:
    """True for an 18-character unified social credit code whose last character checks out
    (GB 32100-2015: weights 3^i mod 31 over the 31-character alphabet)."""
    if not _USCC_RE.fullmatch(code):
        return False
    total = sum(w * USCC_CHARS.index(c) for w, c in zip(USCC_WEIGHTS, code[:17], strict=True))
    return USCC_CHARS[(31 - total % 31) % 31] == code[17]


def normalise_licence(value: str) -> str:
    """The licence number upper-cased without blanks; ``ValueError`` (zh / en) when it is
    neither a right unified social credit code nor a 15-digit registration number."""
    code = re.sub(r"\s+", "", value).upper()
    if _REG_NO_RE.fullmatch(code) or valid_uscc(code):
        return code
    if len(code) == 18 and _USCC_RE.fullmatch(code):
        raise ValueError("统一社会信用代码校验位不对，请核对 / "
                         "the unified social credit code's check character is wrong")
    raise ValueError("营业执照号应为 18 位统一社会信用代码或 15 位注册号 / "
                     "a licence number is an 18-character unified social credit code or a "
                     "15-digit registration number")


def normalise_phone(value: str) -> str:
    """A phone number without blanks or a +86 prefix; ``ValueError`` (zh / en) unless it is a
    mainland mobile (11 digits, 1[3-9]…), a landline with area code or a 400/800 number."""
    phone = re.sub(r"[\s()（）]+", "", value)
    phone = re.sub(r"^(\+?86)(?=1\d{10}$)", "", phone)
    if (_MOBILE_RE.fullmatch(phone) or _LANDLINE_RE.fullmatch(phone)
            or _SERVICE_RE.fullmatch(phone)):
        return phone
    raise ValueError("电话号码格式不对：手机 11 位，座机带区号（如 0758-2231234） / "
                     "not a phone number: an 11-digit mobile or a landline with its area code "
                     "(e.g. 0758-2231234)")


def _split(message: str) -> tuple[str, str]:
    zh, _, en = message.partition(" / ")
    return zh, en or zh


def _number(raw: str, column: str, zh_name: str, lo: float, hi: float) -> float:
    try:
        value = float(raw.replace("，", ".").replace(",", "."))
    except ValueError:
        raise _CellError(column, f"{zh_name}不是数字：{raw!r}",
                         f"{column} is not a number: {raw!r}") from None
    if not (math.isfinite(value) and lo <= value <= hi):
        raise _CellError(column, f"{zh_name}应在 {lo:g} 到 {hi:g} 之间：{raw}",
                         f"{column} must lie between {lo:g} and {hi:g}: {raw}")
    return value


def _parse_zone(raw: str, crs: str) -> Polygon:
    text = raw.strip()
    try:
        if text.startswith("{"):
            doc = json.loads(text)
            if isinstance(doc, dict) and doc.get("type") == "Feature":
                doc = doc.get("geometry")
            geom = shape(doc)
        else:
            geom = wkt.loads(text)
    except (ValueError, TypeError, KeyError, AttributeError, ShapelyError):
        raise _CellError("zone", "责任区无法识别：请填 WKT（POLYGON((…))）或 GeoJSON 面",
                         "zone not understood: give a WKT POLYGON((…)) or a GeoJSON "
                         "Polygon") from None
    if isinstance(geom, MultiPolygon) and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if not isinstance(geom, Polygon) or geom.is_empty:
        raise _CellError("zone", f"责任区必须是一个面（Polygon），不是 {geom.geom_type}",
                         f"zone must be one Polygon, not {geom.geom_type}")
    xmin, ymin, xmax, ymax = geom.bounds
    if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
        raise _CellError("zone", "责任区坐标不是经纬度（是否用了投影坐标？）",
                         "zone coordinates are not lon/lat degrees (projected coordinates?)")
    if crs != "wgs84":
        geom = shapely.transform(geom, lambda xy: _convert(xy, crs))
    if not geom.is_valid:
        raise _CellError("zone", f"责任区图形无效：{explain_validity(geom)}",
                         f"zone polygon is invalid: {explain_validity(geom)}")
    geom = shapely.orient_polygons(geom, exterior_cw=False)
    area = float(to_metric(geom)[0].area)
    if not ZONE_AREA_M2[0] <= area <= ZONE_AREA_M2[1]:
        raise _CellError("zone", f"责任区面积 {area:,.1f} 平方米不合理（应在 {ZONE_AREA_M2[0]:g}–"
                                 f"{ZONE_AREA_M2[1]:,.0f} 之间）",
                         f"zone area {area:,.1f} m² is implausible (expected {ZONE_AREA_M2[0]:g}–"
                         f"{ZONE_AREA_M2[1]:,.0f} m²)")
    return geom


def _convert(xy: np.ndarray, crs: str) -> np.ndarray:
    x, y = to_wgs84(xy[:, 0], xy[:, 1], crs)
    return np.column_stack([x, y])


def _crs_of(raw: str) -> str:
    if not raw:
        return "wgs84"
    key = "".join(ch for ch in raw.lower() if ch not in "-_: ")
    names = {"wgs84": "wgs84", "epsg4326": "wgs84", "gcj02": "gcj02", "火星坐标": "gcj02",
             "高德": "gcj02", "bd09": "bd09", "bd09ll": "bd09", "百度": "bd09"}
    if key not in names:
        raise _CellError("crs", f"坐标系 {raw!r} 不认识：填 WGS84、GCJ-02（高德/腾讯）"
                                "或 BD-09（百度）",
                         f"coordinate system {raw!r} unknown: use WGS84, GCJ-02 or BD-09")
    return names[key]


def _distance_m(point: Point, zone: Polygon) -> float:
    epsg = utm_epsg_for(point.x, point.y)
    p, _ = to_metric(point, epsg)
    z, _ = to_metric(zone, epsg)
    return float(p.distance(z))


Geocode = Callable[[str], tuple[float, float] | tuple[str, str]]
"""An address → ``(lon, lat)`` floats, or ``(zh, en)`` reasons it cannot be placed."""


def _row(line: int, values: dict[str, str], geocode: Geocode | None = None) -> ShopRow:
    problems: list[_CellError] = []

    def check(fn, *args):
        try:
            return fn(*args)
        except _CellError as bad:
            problems.append(bad)
            return None

    def text(key: str, limit: int) -> str | None:
        value = re.sub(r"\s+", " ", values.get(key, "")).strip()
        if len(value) > limit:
            problems.append(_CellError(key, f"{key} 超过 {limit} 个字",
                                       f"{key} longer than {limit} characters"))
            return None
        return value or None

    name = text("name", 200)
    if not name and not any(p.column == "name" for p in problems):
        problems.append(_CellError("name", "缺少店名", "the shop has no name"))
    code = text("code", 20)
    if code and not re.fullmatch(r"[A-Za-z0-9_-]+", code):
        problems.append(_CellError("code", "编号只能含字母、数字、- 和 _",
                             "code may hold only letters, digits, - and _"))
    licence = None
    if values.get("licence_no"):
        try:
            licence = normalise_licence(values["licence_no"])
        except ValueError as exc:
            problems.append(_CellError("licence_no", *_split(str(exc))))
    phone = None
    if values.get("owner_phone"):
        try:
            phone = normalise_phone(values["owner_phone"])
        except ValueError as exc:
            problems.append(_CellError("owner_phone", *_split(str(exc))))
    crs = check(_crs_of, values.get("crs", "")) or "wgs84"
    lon_raw, lat_raw = values.get("lon", ""), values.get("lat", "")
    lon = lat = None
    if lon_raw or lat_raw:
        if not (lon_raw and lat_raw):
            problems.append(_CellError("lon" if not lon_raw else "lat", "经度和纬度要一起填",
                                 "give both longitude and latitude"))
        else:
            lon = check(_number, lon_raw, "lon", "经度", -180.0, 180.0)
            lat = check(_number, lat_raw, "lat", "纬度", -90.0, 90.0)
            if lon is not None and lat is not None and crs != "wgs84":
                lon, lat = to_wgs84(lon, lat, crs)
    zone = check(_parse_zone, values["zone"], crs) if values.get("zone") else None
    frontage = (check(_number, values["frontage_m"], "frontage_m", "门前进深", *FRONTAGE_RANGE_M)
                if values.get("frontage_m") else None)
    width = (check(_number, values["width_m"], "width_m", "门面宽度", *WIDTH_RANGE_M)
             if values.get("width_m") else None)
    located = lon is not None and lat is not None
    geocoded = False
    if not located and not zone and not problems and geocode and values.get("address"):
        placed = geocode(values["address"])
        if isinstance(placed[0], str):
            problems.append(_CellError("address", *placed))  # type: ignore[arg-type]
        else:
            lon, lat = placed
            geocoded = True
    if not located and not geocoded and not zone and not problems:
        problems.append(_CellError("lon", "没有位置：请填经纬度或责任区范围（地址无法离线定位）",
                             "no location: give longitude/latitude or a zone polygon (an "
                             "address alone cannot be located offline)"))
    if located and zone is not None:
        gap = _distance_m(Point(lon, lat), zone)
        if gap > MAX_DOOR_TO_ZONE_M:
            problems.append(_CellError("zone", f"位置离责任区 {gap:,.0f} 米，超过 "
                                         f"{MAX_DOOR_TO_ZONE_M:g} 米，请核对",
                                 f"the location is {gap:,.0f} m from its zone (more than "
                                 f"{MAX_DOOR_TO_ZONE_M:g} m): check both"))
    if problems:
        raise _RowFailedError([RowError(line, p.column, p.zh, p.en) for p in problems])
    if not located and not geocoded:
        door = zone.representative_point()  # type: ignore[union-attr]
        lon, lat = door.x, door.y
    return ShopRow(line=line, name=name, lon=float(lon), lat=float(lat),  # type: ignore[arg-type]
                   code=code, category=text("category", 40), licence_no=licence,
                   address=text("address", 200), owner_name=text("owner_name", 100),
                   owner_phone=phone, zone=zone, frontage_m=frontage, width_m=width,
                   location_given=located, geocoded=geocoded)


class _RowFailedError(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(errors)
        self.errors = errors


def parse_records(records: Sequence[tuple[int, Sequence[str]]], *,
                  geocode: Geocode | None = None) -> ParseResult:
    """Check ``(line, cells)`` records whose first non-empty one is the header. With
    ``geocode`` a row giving an address but neither a location nor a zone is placed by it
    (``ShopRow.geocoded``), or fails with the geocoder's reason."""
    rows = [(line, list(cells)) for line, cells in records]
    while rows and not any(c.strip() for c in rows[0][1]):
        rows.pop(0)
    if not rows:
        raise RegistryFileError("文件是空的：第一行应是表头（店名、经度、纬度……）",
                                "the file is empty: its first row must be the header "
                                "(name, lon, lat, …)")
    header_line, header = rows[0]
    result = ParseResult()
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        fld = _ALIASES.get(_header_key(name))
        if fld is None or fld in index:
            if str(name).strip():
                result.ignored_columns.append(str(name).strip())
            continue
        index[fld] = i
        result.columns[fld] = str(name).strip()
    if "name" not in index:
        raise RegistryFileError(f"第 {header_line} 行表头缺少“店名”列",
                                f"the header (line {header_line}) has no name column "
                                "(店名 / name)")
    if not ({"lon", "lat"} <= index.keys() or "zone" in index
            or (geocode is not None and "address" in index)):
        raise RegistryFileError("表头缺少位置列：需要“经度”“纬度”或“责任区”",
                                "the header has no location columns: lon and lat, or zone")
    body = rows[1:]
    if len(body) > MAX_ROWS:
        raise RegistryFileError(f"一次最多导入 {MAX_ROWS} 行，请分批",
                                f"at most {MAX_ROWS} rows at a time: split the file")
    seen_licence: dict[str, int] = {}
    seen_code: dict[str, int] = {}
    for line, cells in body:
        if not any(c.strip() for c in cells):
            continue
        values = {fld: (cells[i].strip() if i < len(cells) else "") for fld, i in index.items()}
        try:
            row = _row(line, values, geocode)
        except _RowFailedError as failed:
            result.errors.extend(failed.errors)
            continue
        dup = []
        if row.licence_no and row.licence_no in seen_licence:
            first = seen_licence[row.licence_no]
            dup.append(RowError(line, "licence_no", f"营业执照号与第 {first} 行重复",
                                f"the licence number repeats line {first}"))
        if row.code and row.code in seen_code:
            first = seen_code[row.code]
            dup.append(RowError(line, "code", f"编号与第 {first} 行重复",
                                f"the code repeats line {first}"))
        if dup:
            result.errors.extend(dup)
            continue
        if row.licence_no:
            seen_licence[row.licence_no] = line
        if row.code:
            seen_code[row.code] = line
        result.rows.append(row)
    return result


def parse_file(data: bytes, filename: str, *, geocode: Geocode | None = None) -> ParseResult:
    """Read and check a CSV or XLSX shop list (raises :class:`RegistryFileError`)."""
    return parse_records(read_table(data, filename), geocode=geocode)


# --------------------------------------------------------------------------------------------
# Zones
# --------------------------------------------------------------------------------------------


def default_zone(lon: float, lat: float, depth_m: float | None = None,
                 width_m: float | None = None, *,
                 toward: tuple[float, float] | None = None) -> Polygon:
    """The responsibility zone of a shop given no polygon: a rectangle ``width_m`` wide along
    the shop front and ``depth_m`` deep (default :data:`DEFAULT_FRONTAGE_M`) from the door at
    ``(lon, lat)`` toward ``toward`` (a WGS84 point, e.g. the nearest point of the road; due
    south when not given). Drawn in the local UTM zone, returned in WGS84, counter-clockwise.
    """
    depth = float(depth_m or DEFAULT_FRONTAGE_M)
    width = float(width_m or DEFAULT_WIDTH_M)
    door, epsg = to_metric(Point(lon, lat))
    ux, uy = 0.0, -1.0
    if toward is not None:
        target, _ = to_metric(Point(*toward), epsg)
        dx, dy = target.x - door.x, target.y - door.y
        length = math.hypot(dx, dy)
        if length > 0.01:
            ux, uy = dx / length, dy / length
    vx, vy = -uy, ux  # along the front
    half = width / 2.0
    corners = [(door.x + vx * s * half + ux * d, door.y + vy * s * half + uy * d)
               for s, d in ((-1, 0.0), (1, 0.0), (1, depth), (-1, depth))]
    rect = shapely.orient_polygons(Polygon(corners), exterior_cw=False)
    return from_metric(rect, epsg)


def zone_size(zone: Polygon) -> tuple[float, float, float]:
    """``(width_m, depth_m, area_m2)`` of a zone: the sides of its minimum rotated rectangle
    (the longer one taken as the width along the front) and its area, measured in metres."""
    metric, _ = to_metric(zone)
    rect = metric.minimum_rotated_rectangle
    sides: Iterable[float] = []
    if isinstance(rect, Polygon):
        xs, ys = rect.exterior.coords.xy
        sides = [math.hypot(xs[i + 1] - xs[i], ys[i + 1] - ys[i]) for i in range(2)]
    sides = sorted(sides, reverse=True) or [0.0, 0.0]
    return float(sides[0]), float(sides[-1]), float(metric.area)
