"""Import districts, streets, communities (行政区划) and unit grids (单元网格) from GIS files.

``python app.py import-regions FILE --level district|street|community|grid [--layer NAME]``
reads a GeoJSON, GeoPackage or Shapefile in any coordinate reference system, reprojects it to
WGS84 (EPSG:4326) and writes :class:`~data.models.Region` or :class:`~data.models.UnitGrid`
rows. Everything is checked before anything is written; if anything is wrong the import is
refused with :class:`ImportRefused`, whose message names every offending feature (by its code,
or by its 1-based feature number when it has no usable code) and says what to do.

Attributes per feature (names are case-insensitive):

* ``code`` (required): 6 digits for a district, 9 for a street, 12 for a community, 15 for a
  grid; a code starts with its parent's code.
* ``name`` (required for regions; a grid without one is named by its code), ``name_en``.
* ``parent_code`` (Shapefile: ``parent_cod``; grids also ``community_code``): default from the
  code — street → ``code[:6]``, community → ``code[:9]``, grid → ``code[:12]``. A district's
  parent is the city row (``level='city'``) when the database holds one, else none.
* ``inspector`` (grids): the username of the grid's inspector (网格员); it must exist.

Refused: a missing, unreadable or unsupported file, a wrong layer name, a file without a CRS,
missing ``code``/``name`` columns, malformed or duplicate codes, empty, non-polygon or invalid
geometry, polygons overlapping each other or an existing feature of the same level that the
file does not replace (more than 1 m²), a parent missing from the database, and a feature
reaching out of its parent by more than 1 % of its area or 10 m² (whichever is less; never
for 1 m² or less). Re-importing a code updates that row; it is never duplicated.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from data.models import Region, UnitGrid, User
from gis.codes import is_community_code, is_district_code, is_grid_code, is_street_code
from gis.crs import WGS84_EPSG, areas_m2
from gis.topology import check_coverage

__all__ = ["LEVELS", "ImportRefused", "ImportResult", "import_regions"]

LEVELS = ("district", "street", "community", "grid")
PARENT_LEVEL = {"district": "city", "street": "district", "community": "street",
                "grid": "community"}
PLURAL = {"district": "districts", "street": "streets", "community": "communities",
          "grid": "grids", "city": "cities"}
CODE_DIGITS = {"district": 6, "street": 9, "community": 12, "grid": 15}
_IS_CODE = {"district": is_district_code, "street": is_street_code,
            "community": is_community_code, "grid": is_grid_code}
FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GeoPackage",
           ".shp": "Shapefile"}

OVERLAP_TOLERANCE_M2 = 1.0
"""Overlaps up to this area are digitising noise, not refused."""
OUTSIDE_SHARE = 0.01
OUTSIDE_MAX_M2 = 10.0
NAME_MAX = 100  # String(100) columns
MAX_LISTED = 50  # problems spelled out in an ImportRefused message
_CHUNK = 500  # codes per IN (...) query


class ImportRefused(ValueError):  # noqa: N818 - the CLI's name for it: a refusal, not a bug
    """The file was refused as a whole; nothing was written. ``problems`` lists every reason."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__(_refusal_message(source, self.problems))


def _refusal_message(source: str, problems: Sequence[str]) -> str:
    if len(problems) == 1:
        return f"{source}: {problems[0]}"
    lines = [f"{source}: {len(problems)} problems; fix them in the file and import it again:"]
    lines += [f"  - {p}" for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        lines.append(f"  … and {len(problems) - MAX_LISTED} more")
    return "\n".join(lines)


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote: ``inserted`` new codes and ``updated`` existing ones."""

    level: str
    inserted: int
    updated: int
    source: str = ""
    source_crs: str = ""

    def summary(self) -> str:
        total = self.inserted + self.updated
        where = f" from {self.source}" if self.source else ""
        crs = (f" (reprojected from {self.source_crs})"
               if self.source_crs and self.source_crs != f"EPSG:{WGS84_EPSG}" else "")
        noun = self.level if total == 1 else PLURAL[self.level]
        return (f"imported {total} {noun}{where}{crs}: "
                f"{self.inserted} new, {self.updated} updated")


@dataclass
class _Feature:
    index: int  # 0-based position in the layer
    code: str | None  # well-formed code, else None
    raw_code: str | None
    name: str | None
    name_en: str | None
    parent: str | None
    inspector: str | None
    geom: Any  # shapely geometry or None
    duplicate: bool = False  # its code is used by another feature of the file too

    @property
    def label(self) -> str:
        if self.code is not None:
            return f"{self.code} (feature {self.index + 1})" if self.duplicate else self.code
        shown = f" (code {self.raw_code!r})" if self.raw_code else ""
        return f"feature {self.index + 1}{shown}"


class _Problems:
    """Problems collected across all checks, listed in file order at the end."""

    def __init__(self) -> None:
        self._items: list[tuple[int, int, str]] = []

    def add(self, index: int, text: str) -> None:
        self._items.append((index, len(self._items), text))

    def __bool__(self) -> bool:
        return bool(self._items)

    def messages(self) -> list[str]:
        return [text for _, _, text in sorted(self._items)]


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def import_regions(session: Session, path: Path, level: str, *,
                   layer: str | None = None) -> ImportResult:
    """Validate every feature of ``path`` (layer ``layer``, default the first), then write them.

    Raises :class:`ImportRefused` before writing anything when the file or any feature is
    unacceptable. The caller owns the transaction (and commits).
    """
    path = Path(path)
    if level not in LEVELS:
        raise ImportRefused(str(path), [f"unknown level {level!r}: use one of "
                                        f"{', '.join(LEVELS)}"])
    gdf, layer_name = _read(path, layer)
    source = path.name if layer is None else f"{path.name} (layer {layer_name})"
    if gdf.empty:
        raise ImportRefused(source, ["holds no features: nothing to import; check the file "
                                     "and the layer"])
    columns = _columns(gdf, level, source)
    gdf, source_crs = _to_wgs84(gdf, source)
    features = _features(gdf, columns, level)

    problems = _Problems()
    _check_attributes(features, level, problems)
    _check_geometries(features, level, problems)
    plan = _check_against_database(session, features, level, problems)
    if problems:
        raise ImportRefused(source, problems.messages())
    inserted, updated = _write(session, features, level, plan, columns)
    return ImportResult(level, inserted, updated, source, source_crs)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _read(path: Path, layer: str | None) -> tuple[gpd.GeoDataFrame, str]:
    source = str(path)
    if not path.exists():
        raise ImportRefused(source, ["no such file; check the path"])
    if not path.is_file():
        raise ImportRefused(source, ["is not a file; give the .geojson, .gpkg or .shp itself"])
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ImportRefused(source, [
            f"unsupported file type {path.suffix or '(no extension)'!r}: give a GeoJSON "
            "(.geojson), a GeoPackage (.gpkg) or a Shapefile (.shp with its .shx, .dbf, .prj)"
        ])
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    except (RuntimeError, OSError, ValueError) as exc:
        raise ImportRefused(source, [f"cannot be read as a {fmt} ({_one_line(exc)}); check "
                                     "that the file is complete and really a " + fmt])
    if not layers:
        raise ImportRefused(source, [f"the {fmt} holds no layers: nothing to import"])
    if layer is None:
        layer = layers[0]
    elif layer not in layers:
        raise ImportRefused(source, [f"has no layer {layer!r}; its layers are: "
                                     f"{', '.join(layers)} — pick one with --layer"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except (RuntimeError, OSError, ValueError) as exc:
        raise ImportRefused(source, [f"layer {layer!r} cannot be read ({_one_line(exc)}); "
                                     "check the file in a GIS such as QGIS"])
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise ImportRefused(source, [f"layer {layer!r} has no geometry: it must hold polygons"])
    return gdf, layer


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


_ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("code",),
    "name": ("name",),
    "name_en": ("name_en",),
    "parent": ("parent_code", "parent_cod"),  # Shapefile field names stop at 10 characters
    "inspector": ("inspector",),
}


def _columns(gdf: gpd.GeoDataFrame, level: str, source: str) -> dict[str, str]:
    """Our attribute → the file's column, matched case-insensitively."""
    by_lower: dict[str, str] = {}
    for col in gdf.columns:
        if col != gdf.geometry.name:
            by_lower.setdefault(str(col).lower(), str(col))
    aliases = dict(_ALIASES)
    if level == "grid":
        aliases["parent"] = (*aliases["parent"], "community_code")
    else:
        del aliases["inspector"]
    found: dict[str, str] = {}
    for key, names in aliases.items():
        column = next((by_lower[a] for a in names if a in by_lower), None)
        if column is not None:
            found[key] = column
    required = ("code",) if level == "grid" else ("code", "name")
    missing = [r for r in required if r not in found]
    if missing:
        have = ", ".join(by_lower.values()) or "none"
        what = " and ".join(repr(m) for m in missing)
        raise ImportRefused(source, [
            f"has no {what} attribute (its attributes: {have}); every feature needs 'code' "
            f"(the {CODE_DIGITS[level]}-digit {level} code)"
            + ("" if level == "grid" else " and 'name'")
            + ": add or rename the column(s) and import again"
        ])
    return found


def _to_wgs84(gdf: gpd.GeoDataFrame, source: str) -> tuple[gpd.GeoDataFrame, str]:
    """Reproject from the file's declared CRS to EPSG:4326; never guess a missing CRS."""
    if gdf.crs is None:
        raise ImportRefused(source, [
            "has no coordinate reference system (CRS), and OneGrid does not guess one: define "
            "it — a .prj next to a .shp, the layer's SRS in a GeoPackage, or a \"crs\" member "
            "in GeoJSON (e.g. ogr2ogr -a_srs EPSG:4490, or QGIS 'Assign Projection') — and "
            "import again"
        ])
    src = gdf.crs
    name = src.to_string()
    out = gdf.to_crs(epsg=WGS84_EPSG)  # explicit conversion; set_crs is never used to guess
    geoms = np.asarray(out.geometry.values, dtype=object)
    xy = shapely.get_coordinates(geoms[~shapely.is_missing(geoms)])
    if xy.size:
        finite = np.isfinite(xy).all()
        in_range = finite and (np.abs(xy[:, 0]).max() <= 180.0 and np.abs(xy[:, 1]).max() <= 90.0)
        if not in_range:
            if src.is_geographic:
                problem = (
                    f"coordinates are not longitude/latitude although the file's CRS is "
                    f"{name} (a GeoJSON without a \"crs\" member is WGS84 longitude/latitude "
                    "by definition, RFC 7946); if they are projected metres, declare their CRS "
                    "(a \"crs\" member, or a GeoPackage with its SRS) and import again")
            else:
                problem = (
                    f"coordinates do not convert from {name} to longitude/latitude: the "
                    "declared CRS does not match them; declare the right one and import again")
            raise ImportRefused(source, [problem])
    return out, name


def _text(value: object) -> str | None:
    """An attribute value as stripped text; numbers as written (integral floats lose '.0')."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    text = str(value).strip()
    return text or None


def _features(gdf: gpd.GeoDataFrame, columns: dict[str, str], level: str) -> list[_Feature]:
    def values(key: str) -> list[str | None]:
        col = columns.get(key)
        return [_text(v) for v in gdf[col].tolist()] if col else [None] * len(gdf)

    codes = values("code")
    names = values("name")
    names_en = values("name_en")
    parents = values("parent")
    inspectors = values("inspector")
    geoms = list(gdf.geometry.values)
    is_code = _IS_CODE[level]
    return [
        _Feature(index=i, code=codes[i] if is_code(codes[i]) else None, raw_code=codes[i],
                 name=names[i], name_en=names_en[i], parent=parents[i],
                 inspector=inspectors[i], geom=geoms[i])
        for i in range(len(gdf))
    ]


# --------------------------------------------------------------------------------------------
# Checks on the file alone
# --------------------------------------------------------------------------------------------


def _check_attributes(features: list[_Feature], level: str, problems: _Problems) -> None:
    digits = CODE_DIGITS[level]
    parent_level = PARENT_LEVEL[level]
    seen: dict[str, list[int]] = defaultdict(list)
    for f in features:
        if f.raw_code is None:
            problems.add(f.index, f"{f.label}: has no code; give it its {digits}-digit "
                                  f"{level} code")
        elif f.code is None:
            problems.add(f.index, f"{f.label}: malformed {level} code: a {level} code is "
                                  f"{digits} ASCII digits; correct it")
        else:
            seen[f.code].append(f.index)
        if level != "grid" and f.name is None:
            problems.add(f.index, f"{f.label}: has no name; fill in its 'name'")
        for label, value in (("name", f.name), ("name_en", f.name_en)):
            if value is not None and len(value) > NAME_MAX:
                problems.add(f.index, f"{f.label}: '{label}' is {len(value)} characters long; "
                                      f"shorten it to at most {NAME_MAX}")
        if f.code is None:
            continue
        if f.parent is None:
            if level != "district":
                f.parent = f.code[: CODE_DIGITS[parent_level]]
        elif level != "district":
            if not _IS_CODE[parent_level](f.parent):
                problems.add(f.index, f"{f.label}: malformed parent code {f.parent!r}: a "
                                      f"{parent_level} code is {CODE_DIGITS[parent_level]} "
                                      "digits; correct it or leave it empty")
            elif not f.code.startswith(f.parent):
                problems.add(f.index, f"{f.label}: the code does not start with its parent "
                                      f"{parent_level}'s code {f.parent}; correct the code or "
                                      "the parent")
    for code, indexes in seen.items():
        if len(indexes) > 1:
            for i in indexes:
                features[i].duplicate = True
            numbers = ", ".join(str(i + 1) for i in indexes)
            problems.add(indexes[1], f"{code}: duplicate code (features {numbers}); a code "
                                     "names one feature — renumber or merge them")


def _check_geometries(features: list[_Feature], level: str, problems: _Problems) -> None:
    """Empty, non-polygonal, multi-part grids, invalid polygons and overlaps in the file."""
    for f in features:
        g = f.geom
        if g is None or g.is_empty:
            problems.add(f.index, f"{f.label}: empty geometry; draw its polygon")
            f.geom = None
            continue
        g = shapely.force_2d(g)
        if isinstance(g, MultiPolygon) and level == "grid":
            parts = shapely.get_parts(g)
            if len(parts) == 1:
                g = parts[0]
            else:
                problems.add(f.index, f"{f.label}: a unit grid is one polygon, this is a "
                                      f"MultiPolygon of {len(parts)} parts; split it into "
                                      "separate grids or merge the parts")
                f.geom = None
                continue
        if not isinstance(g, Polygon | MultiPolygon):
            problems.add(f.index, f"{f.label}: geometry is a {g.geom_type}, not a polygon; "
                                  f"a {level} must be an area")
            f.geom = None
            continue
        f.geom = g

    items = [(str(f.index), f.geom) for f in features if f.geom is not None]
    if not items:
        return
    report = check_coverage(items, tolerance_m2=OVERLAP_TOLERANCE_M2)
    by_index = {f.index: f for f in features}
    for ident, reason in report.invalid:
        f = by_index[int(ident)]
        problems.add(f.index, f"{f.label}: invalid polygon ({reason}); repair it (e.g. QGIS "
                              "'Fix Geometries') so its rings do not cross themselves")
        f.geom = None  # keep it out of the checks against the database
    for a, b, area in report.overlaps:
        fa, fb = by_index[int(a)], by_index[int(b)]
        problems.add(fa.index, f"{fa.label} and {fb.label} overlap by {area:.1f} m²; "
                               f"{PLURAL[level]} must not overlap — fix the shared boundary")


# --------------------------------------------------------------------------------------------
# Checks against the database
# --------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    existing_codes: set[str]
    parent_of: dict[int, str | None]
    inspector_ids: dict[str, int]


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(set(values))
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _check_against_database(session: Session, features: list[_Feature], level: str,
                            problems: _Problems) -> _Plan:
    coded = [f for f in features if f.code is not None]
    codes = {f.code for f in coded}
    model = UnitGrid if level == "grid" else Region

    by_code = {f.code: f for f in coded}
    existing: set[str] = set()
    for chunk in _chunks(codes):  # type: ignore[arg-type]
        if model is Region:
            rows = session.execute(select(Region.code, Region.level)
                                   .where(Region.code.in_(chunk))).all()
            for code, other in rows:
                if other == level:
                    existing.add(code)
                else:
                    f = by_code[code]
                    problems.add(f.index, f"{code}: this code belongs to a {other} already; "
                                          f"a {level} needs a code of its own")
        else:
            existing.update(session.scalars(select(UnitGrid.code)
                                            .where(UnitGrid.code.in_(chunk))))

    parent_of = _check_parents(session, coded, level, problems)
    inspector_ids = _check_inspectors(session, coded, problems) if level == "grid" else {}
    _check_overlaps_with_database(session, coded, level, codes, problems)
    return _Plan(existing, parent_of, inspector_ids)


def _check_parents(session: Session, coded: list[_Feature], level: str,
                   problems: _Problems) -> dict[int, str | None]:
    """Each feature's parent must be in the database at the parent level; returns the parents."""
    parent_level = PARENT_LEVEL[level]
    parent_of: dict[int, str | None] = {}
    if level == "district":
        cities = dict(session.execute(select(Region.code, Region.geom)
                                      .where(Region.level == "city")).all())
        for f in coded:
            if f.parent is not None:
                continue
            if len(cities) == 1:
                f.parent = next(iter(cities))
            elif len(cities) > 1:
                # Administrative division codes: a district shares its city's first 4 digits.
                match = [c for c in cities if c[:4] == f.code[:4]]  # type: ignore[index]
                if len(match) == 1:
                    f.parent = match[0]
                else:
                    problems.add(f.index, f"{f.label}: the database holds several cities and "
                                          "none is clearly this district's; give its city in "
                                          "'parent_code'")
    wanted = {f.parent for f in coded if f.parent is not None}
    found: dict[str, tuple[str, Any]] = {}
    for chunk in _chunks(wanted):  # type: ignore[arg-type]
        for code, lvl, geom in session.execute(
                select(Region.code, Region.level, Region.geom).where(Region.code.in_(chunk))):
            found[code] = (lvl, geom)

    inside: list[tuple[_Feature, Any]] = []
    for f in coded:
        parent_of[f.index] = f.parent
        if f.parent is None:
            continue
        hit = found.get(f.parent)
        if hit is None:
            hint = (f"import the {PLURAL[parent_level]} first (python app.py import-regions "
                    f"FILE --level {parent_level})" if parent_level != "city"
                    else "add the city first or leave 'parent_code' empty")
            problems.add(f.index, f"{f.label}: its parent {parent_level} {f.parent} is not in "
                                  f"the database; {hint}")
        elif hit[0] != parent_level:
            problems.add(f.index, f"{f.label}: its parent {f.parent} is a {hit[0]}, not a "
                                  f"{parent_level}; correct the parent code")
        elif hit[1] is not None and f.geom is not None:
            inside.append((f, hit[1]))
    _check_inside_parents(inside, level, parent_level, problems)
    return parent_of


def _check_inside_parents(pairs: list[tuple[_Feature, Any]], level: str, parent_level: str,
                          problems: _Problems) -> None:
    """Refuse features reaching out of their parent polygon by more than the threshold."""
    if not pairs:
        return
    geoms = np.empty(len(pairs), dtype=object)
    geoms[:] = [f.geom for f, _ in pairs]
    parents = np.empty(len(pairs), dtype=object)
    parents[:] = [p for _, p in pairs]
    broken = ~shapely.is_valid(parents)
    if broken.any():
        parents[broken] = shapely.make_valid(parents[broken])
    outside = areas_m2(shapely.difference(geoms, parents))
    areas = areas_m2(geoms)
    limit = np.minimum(OUTSIDE_MAX_M2, np.maximum(OUTSIDE_SHARE * areas, OVERLAP_TOLERANCE_M2))
    for k in np.flatnonzero(outside > limit):
        f = pairs[k][0]
        share = 100.0 * outside[k] / areas[k] if areas[k] else 100.0
        problems.add(f.index, f"{f.label}: {outside[k]:.1f} m² ({share:.1f} % of it) lies "
                              f"outside its {parent_level} {f.parent}; a {level} must lie "
                              f"inside its {parent_level} — fix the outline or the parent")


def _check_inspectors(session: Session, coded: list[_Feature],
                      problems: _Problems) -> dict[str, int]:
    names = {f.inspector for f in coded if f.inspector is not None}
    ids: dict[str, int] = {}
    for chunk in _chunks(names):  # type: ignore[arg-type]
        ids.update(session.execute(select(User.username, User.id)
                                   .where(User.username.in_(chunk))).all())
    for f in coded:
        if f.inspector is not None and f.inspector not in ids:
            problems.add(f.index, f"{f.label}: inspector {f.inspector!r} is not a user; create "
                                  "the account first (python app.py user create NAME --role "
                                  "inspector) or correct the username")
    return ids


def _check_overlaps_with_database(session: Session, coded: list[_Feature], level: str,
                                  codes: set[str | None], problems: _Problems) -> None:
    """New polygons against the same level's stored ones that this file does not replace."""
    new = [f for f in coded if f.geom is not None]
    if not new:
        return
    new_geoms = np.empty(len(new), dtype=object)
    new_geoms[:] = [f.geom for f in new]
    xmin, ymin, xmax, ymax = shapely.total_bounds(new_geoms)
    if level == "grid":
        query = select(UnitGrid.code, UnitGrid.geom)
        geom_col = UnitGrid.geom
    else:
        query = select(Region.code, Region.geom).where(Region.level == level,
                                                       Region.geom.is_not(None))
        geom_col = Region.geom
    if session.get_bind().dialect.name == "postgresql":  # GiST-indexed bounding-box filter
        envelope = func.ST_MakeEnvelope(xmin, ymin, xmax, ymax, WGS84_EPSG)
        query = query.where(geom_col.op("&&", is_comparison=True)(envelope))
    rows = [(c, g) for c, g in session.execute(query) if c not in codes and g is not None]
    if not rows:
        return
    old_geoms = np.empty(len(rows), dtype=object)
    old_geoms[:] = [g for _, g in rows]
    tree = shapely.STRtree(new_geoms)
    old_idx, new_idx = tree.query(old_geoms, predicate="intersects")
    if not old_idx.size:
        return
    new_sel = np.unique(new_idx)
    old_sel = np.unique(old_idx)
    items = [(f"n{k}", new_geoms[k]) for k in new_sel]
    items += [(f"o{k}", old_geoms[k]) for k in old_sel]
    report = check_coverage(items, tolerance_m2=OVERLAP_TOLERANCE_M2)
    for a, b, area in report.overlaps:
        if a[0] == b[0]:
            continue  # new/new is reported by the file check; old/old is not this import's
        n, o = (a, b) if a[0] == "n" else (b, a)
        f = new[int(n[1:])]
        old_code = rows[int(o[1:])][0]
        problems.add(f.index, f"{f.label} overlaps the existing {level} {old_code} by "
                              f"{area:.1f} m²; fix the outline, or include {old_code} "
                              "with its corrected outline in the file")


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _write(session: Session, features: list[_Feature], level: str, plan: _Plan,
           columns: dict[str, str]) -> tuple[int, int]:
    geoms = np.empty(len(features), dtype=object)
    geoms[:] = [f.geom for f in features]
    areas = areas_m2(geoms)
    model = UnitGrid if level == "grid" else Region
    current: dict[str, Any] = {}
    for chunk in _chunks(plan.existing_codes):
        current.update((row.code, row) for row in
                       session.scalars(select(model).where(model.code.in_(chunk))))
    new_rows: list[dict[str, Any]] = []
    for f, area in zip(features, areas, strict=True):
        values = _values(f, level, float(area), plan, columns)
        row = current.get(f.code)  # type: ignore[arg-type]
        if row is None:
            new_rows.append(dict(code=f.code, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
    for start in range(0, len(new_rows), 1000):
        session.execute(insert(model), new_rows[start:start + 1000])
    session.flush()
    return len(new_rows), len(features) - len(new_rows)


def _values(f: _Feature, level: str, area: float, plan: _Plan,
            columns: dict[str, str]) -> dict[str, Any]:
    """Column values for one feature; optional columns absent from the file are left alone."""
    parent = plan.parent_of.get(f.index)
    if level == "grid":
        values: dict[str, Any] = dict(community_code=parent, name=f.name or f.code,
                                      geom=f.geom, area_m2=area)
        if "inspector" in columns:
            values["inspector_id"] = plan.inspector_ids.get(f.inspector) if f.inspector else None
        return values
    geom = MultiPolygon([f.geom]) if isinstance(f.geom, Polygon) else f.geom
    values = dict(level=level, name=f.name, parent_code=parent, geom=geom, area_m2=area)
    if "name_en" in columns:
        values["name_en"] = f.name_en
    return values
