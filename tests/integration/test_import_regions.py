"""Importing districts, streets, communities and unit grids from GIS files, on both databases.

The fixture territory is built here, in ``tmp_path``: one district of 400 m × 400 m near
112.47°E 23.05°N, 2 streets, 4 communities and 16 unit grids of 100 m × 100 m, drawn in
UTM zone 49N and kept in EPSG:4326 as the truth. It is written as GeoJSON (EPSG:4326), as a
GeoPackage in EPSG:32649 and as a Shapefile in EPSG:3857, so every import reprojects.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from pyproj import Transformer
from shapely import affinity
from shapely.geometry import MultiPolygon, Point, Polygon, box
from sqlalchemy import create_engine, func, select

from data.accounts import create_user
from data.models import Region, UnitGrid, User
from data.regions_import import MAX_LISTED, ImportRefused, ImportResult, import_regions
from services import Services, prepare_database

ROOT = Path(__file__).resolve().parents[2]
UTM49 = 32649
WEB_MERCATOR = 3857
DISTRICT = "441202"
CITY = "441200"
LEVELS = ("district", "street", "community", "grid")


# --------------------------------------------------------------------------------------------
# The fixture territory
# --------------------------------------------------------------------------------------------


def utm_origin() -> tuple[float, float]:
    x, y = Transformer.from_crs(4326, UTM49, always_xy=True).transform(112.47, 23.05)
    return round(x), round(y)


def territory(nx: int = 4, ny: int = 4, cell: float = 100.0) -> dict[str, gpd.GeoDataFrame]:
    """The four levels in EPSG:4326: ``nx`` × ``ny`` grids, 2 streets (west/east halves),
    2 communities per street (south/north halves). Drawn in UTM 49N, so every grid is exactly
    ``cell`` metres square there; the regions are unions of their grids (shared vertices)."""
    x0, y0 = utm_origin()
    hx, hy = nx // 2, ny // 2
    rows = []
    for i in range(nx):
        for j in range(ny):
            street, community = 1 + i // hx, 1 + j // hy
            seq = (i % hx) * hy + (j % hy) + 1
            code = f"{DISTRICT}{street:03d}{community:03d}{seq:03d}"
            rows.append(dict(code=code, name=f"网格{code[-5:]}", community=code[:12],
                             street=code[:9], geometry=box(x0 + i * cell, y0 + j * cell,
                                                           x0 + (i + 1) * cell,
                                                           y0 + (j + 1) * cell)))
    grids = gpd.GeoDataFrame(rows, crs=UTM49)
    communities = grids.dissolve(by="community", as_index=False)[["community", "street",
                                                                   "geometry"]]
    communities = communities.rename(columns={"community": "code", "street": "parent_code"})
    communities["name"] = [f"社区{c[-3:]}" for c in communities["code"]]
    communities["name_en"] = [f"Community {c[-3:]}" for c in communities["code"]]
    streets = grids.dissolve(by="street", as_index=False)[["street", "geometry"]]
    streets = streets.rename(columns={"street": "code"})
    streets["parent_code"] = DISTRICT
    streets["name"] = [f"街道{c[-3:]}" for c in streets["code"]]
    streets["name_en"] = [f"Street {c[-3:]}" for c in streets["code"]]
    district = gpd.GeoDataFrame(
        dict(code=[DISTRICT], name=["端州区"], name_en=["Duanzhou District"]),
        geometry=[shapely.union_all(grids.geometry.values)], crs=UTM49)
    grids = grids[["code", "name", "geometry"]]
    return {level: gdf.to_crs(4326).reset_index(drop=True)
            for level, gdf in (("district", district), ("street", streets),
                               ("community", communities), ("grid", grids))}


def write(gdf: gpd.GeoDataFrame, path: Path, *, crs: int | None = 4326,
          layer: str | None = None) -> Path:
    """Write ``gdf`` (EPSG:4326) to ``path`` reprojected to ``crs``; ``crs=None`` writes the
    coordinates as they are with no CRS at all."""
    out = gdf.to_crs(crs) if crs is not None else gdf.set_crs(None, allow_override=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no crs" / "field name truncated" notices
        out.to_file(path, layer=layer, engine="pyogrio")
    return path


@pytest.fixture
def land() -> dict[str, gpd.GeoDataFrame]:
    return territory()


@pytest.fixture
def files(land, tmp_path: Path) -> dict[str, tuple[Path, str | None]]:
    """Per level, the file (and layer) to import: GeoJSON 4326, GeoPackage 32649, SHP 3857."""
    gpkg = tmp_path / "regions.gpkg"
    write(land["street"], gpkg, crs=UTM49, layer="streets")
    write(land["community"], gpkg, crs=UTM49, layer="communities")
    write(land["grid"], gpkg, crs=UTM49, layer="grids")
    return {
        "district": (write(land["district"], tmp_path / "district.geojson"), None),
        "street": (gpkg, None),  # the first layer by default
        "community": (gpkg, "communities"),
        "grid": (write(land["grid"], tmp_path / "grids.shp", crs=WEB_MERCATOR), None),
    }


@pytest.fixture
def db(services: Services) -> Services:
    prepare_database(services, seed=False)
    return services


def run_import(svc: Services, path: Path, level: str, layer: str | None = None) -> ImportResult:
    with svc.transaction() as session:
        return import_regions(session, path, level, layer=layer)


def import_all(svc: Services, files: dict[str, tuple[Path, str | None]],
               levels: tuple[str, ...] = LEVELS) -> dict[str, ImportResult]:
    return {level: run_import(svc, files[level][0], level, files[level][1]) for level in levels}


def refused(svc: Services, path: Path, level: str, layer: str | None = None) -> str:
    with pytest.raises(ImportRefused) as info:
        run_import(svc, path, level, layer)
    return str(info.value)


def snapshot(svc: Services) -> list[tuple]:
    """Everything an import could change, to prove a refusal changed nothing."""
    with svc.session() as session:
        regions = session.execute(
            select(Region.code, Region.level, Region.name, Region.name_en, Region.parent_code,
                   Region.area_m2, Region.geom).order_by(Region.code)).all()
        grids = session.execute(
            select(UnitGrid.code, UnitGrid.community_code, UnitGrid.name, UnitGrid.area_m2,
                   UnitGrid.inspector_id, UnitGrid.geom).order_by(UnitGrid.code)).all()
    return ([(*r[:-1], r[-1].wkb_hex if r[-1] is not None else None) for r in regions]
            + [(*g[:-1], g[-1].wkb_hex) for g in grids])


def counts(svc: Services) -> tuple[int, int]:
    with svc.session() as session:
        return (session.scalar(select(func.count()).select_from(Region)),
                session.scalar(select(func.count()).select_from(UnitGrid)))


def utm_box(i: float, j: float, w: float = 100.0, h: float = 100.0) -> Polygon:
    """A box in EPSG:4326 at cell offset (i, j) from the territory's UTM origin."""
    x0, y0 = utm_origin()
    poly = box(x0 + i * 100.0, y0 + j * 100.0, x0 + i * 100.0 + w, y0 + j * 100.0 + h)
    return gpd.GeoSeries([poly], crs=UTM49).to_crs(4326).iloc[0]


def grids_file(tmp_path: Path, name: str, rows: list[dict], crs: int = 4326) -> Path:
    return write(gpd.GeoDataFrame(rows, crs=4326), tmp_path / name, crs=crs)


# --------------------------------------------------------------------------------------------
# Successful imports
# --------------------------------------------------------------------------------------------


def test_import_every_level_from_geojson_geopackage_and_shapefile(db, files, land) -> None:
    results = import_all(db, files)

    assert {lvl: (r.inserted, r.updated) for lvl, r in results.items()} == {
        "district": (1, 0), "street": (2, 0), "community": (4, 0), "grid": (16, 0)}
    assert "EPSG:32649" in results["community"].summary()
    assert "EPSG:3857" in results["grid"].summary()
    assert "16 grids" in results["grid"].summary()

    with db.session() as session:
        regions = {r.code: r for r in session.scalars(select(Region))}
        grids = {g.code: g for g in session.scalars(select(UnitGrid))}
    assert regions[DISTRICT].level == "district" and regions[DISTRICT].parent_code is None
    assert regions[DISTRICT].name == "端州区" and regions[DISTRICT].name_en == "Duanzhou District"
    assert sorted(c for c, r in regions.items() if r.level == "street") == [
        "441202001", "441202002"]
    assert {c: r.parent_code for c, r in regions.items() if r.level == "community"} == {
        "441202001001": "441202001", "441202001002": "441202001",
        "441202002001": "441202002", "441202002002": "441202002"}
    assert sorted(grids) == sorted(land["grid"]["code"])
    assert all(g.community_code == code[:12] for code, g in grids.items())
    assert grids["441202001001001"].name == "网格01001"

    # Areas measured in metres (UTM): grids 10,000 m², streets 80,000 m², district 160,000 m².
    for g in grids.values():
        assert g.area_m2 == pytest.approx(10_000, rel=0.01)
        assert isinstance(g.geom, Polygon)
    for r in regions.values():
        assert isinstance(r.geom, MultiPolygon)
        expected = {"district": 160_000, "street": 80_000, "community": 40_000}[r.level]
        assert r.area_m2 == pytest.approx(expected, rel=0.01)

    # Reprojection really happened: back in lon/lat, within 1e-6° of the original.
    for level, stored in (("grid", grids), ("community", regions), ("street", regions),
                          ("district", regions)):
        for code, truth in zip(land[level]["code"], land[level].geometry, strict=True):
            geom = stored[code].geom
            assert 112.4 < geom.centroid.x < 112.5 and 23.0 < geom.centroid.y < 23.1
            assert shapely.hausdorff_distance(geom, truth) < 1e-6, (level, code)


def test_district_parent_is_the_city_when_there_is_one(db, files) -> None:
    with db.transaction() as session:
        session.add(Region(code=CITY, level="city", name="肇庆市"))
    run_import(db, files["district"][0], "district")
    with db.session() as session:
        assert session.get(Region, DISTRICT).parent_code == CITY


def test_numeric_codes_and_shapefile_field_names(db, land, tmp_path) -> None:
    """Codes stored as numbers are read as their digits; a Shapefile's ``parent_cod`` (field
    names stop at 10 characters) is the parent code."""
    district = land["district"].assign(code=land["district"]["code"].astype("int64"))
    path = write(district, tmp_path / "district_numeric.geojson")
    assert f'"code": {DISTRICT}' in path.read_text(encoding="utf-8")
    assert run_import(db, path, "district").inserted == 1
    streets = write(land["street"], tmp_path / "streets.shp", crs=WEB_MERCATOR)
    assert "parent_cod" in gpd.read_file(streets).columns
    assert run_import(db, streets, "street").inserted == 2
    with db.session() as session:
        assert session.scalars(select(Region.parent_code).where(Region.level == "street")
                               ).all() == [DISTRICT, DISTRICT]


def test_grid_inspectors_are_linked_by_username(db, files, land, tmp_path) -> None:
    import_all(db, files, LEVELS[:3])
    with db.transaction() as session:
        create_user(session, "wang.wei", "inspector", "inspector-passw0rd")
    grids = land["grid"].assign(inspector=["wang.wei"] * 8 + [None] * 8)
    path = write(grids, tmp_path / "grids_inspected.gpkg", crs=UTM49, layer="grids")
    result = run_import(db, path, "grid")
    assert (result.inserted, result.updated) == (16, 0)
    with db.session() as session:
        wang = session.scalar(select(User.id).where(User.username == "wang.wei"))
        inspected = session.scalars(select(UnitGrid.code)
                                    .where(UnitGrid.inspector_id == wang)).all()
    assert sorted(inspected) == sorted(land["grid"]["code"][:8])


def test_reimport_updates_instead_of_duplicating(db, files, land, tmp_path) -> None:
    import_all(db, files)
    before = counts(db)

    # Same codes again: one renamed, one shrunk inside its old outline (which it replaces, so
    # overlapping its own old self is no conflict).
    grids = land["grid"].copy()
    grids.loc[0, "name"] = "滨江一号网格"
    shrunk = affinity.scale(grids.geometry.iloc[1], 0.5, 0.5)
    grids.loc[1, "geometry"] = shrunk
    result = run_import(db, grids_file(tmp_path, "grids_v2.geojson",
                                       grids.to_dict("records")), "grid")
    assert (result.inserted, result.updated) == (0, 16)
    streets = land["street"].copy()
    streets.loc[0, "name"] = "城东街道"
    again = run_import(db, write(streets, tmp_path / "streets_v2.geojson"), "street")
    assert (again.inserted, again.updated) == (0, 2)

    assert counts(db) == before
    with db.session() as session:
        assert session.get(UnitGrid, grids.loc[0, "code"]).name == "滨江一号网格"
        small = session.get(UnitGrid, grids.loc[1, "code"])
        assert small.area_m2 == pytest.approx(2_500, rel=0.01)
        assert shapely.hausdorff_distance(small.geom, shrunk) < 1e-9
        assert session.get(Region, streets.loc[0, "code"]).name == "城东街道"


def test_two_thousand_grids(db, tmp_path) -> None:
    """A district-sized file (2,000 grids in 4 communities) goes through every check."""
    big = territory(nx=40, ny=50)
    for level in LEVELS:
        result = run_import(db, write(big[level], tmp_path / f"{level}.gpkg", crs=UTM49),
                            level)
        assert result.inserted == len(big[level])
    assert counts(db) == (1 + 2 + 4, 2000)
    # Refusing one bad grid among 2,000 still names it, and only it.
    grids = big["grid"].copy()
    grids.loc[1234, "geometry"] = affinity.translate(grids.geometry.iloc[1234],
                                                             0.0003, 0.0)
    message = refused(db, write(grids, tmp_path / "grids_bad.gpkg", crs=UTM49), "grid")
    assert grids.loc[1234, "code"] in message
    assert "overlap" in message


# --------------------------------------------------------------------------------------------
# Refusals: the message names the offender; the database is unchanged
# --------------------------------------------------------------------------------------------

# Each case: (land, files, tmp_path) -> (path, level, layer, substrings the message must hold)
Case = Callable[[dict, dict, Path], tuple[Path, str, str | None, list[str]]]


def _missing_file(land, files, tmp_path):
    return tmp_path / "nowhere.geojson", "grid", None, ["nowhere.geojson", "no such file"]


def _wrong_layer(land, files, tmp_path):
    return (files["street"][0], "street", "wards",
            ["'wards'", "streets", "communities", "grids", "--layer"])


def _unsupported_file(land, files, tmp_path):
    path = tmp_path / "grids.csv"
    path.write_text("code,name\n441202001001001,a\n", encoding="utf-8")
    return path, "grid", None, ["grids.csv", "unsupported", ".csv"]


def _unreadable_file(land, files, tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    return path, "grid", None, ["broken.geojson", "cannot be read"]


def _shapefile_without_prj(land, files, tmp_path):
    path = write(land["grid"], tmp_path / "grids_noprj.shp", crs=WEB_MERCATOR)
    path.with_suffix(".prj").unlink()
    return path, "grid", None, ["grids_noprj.shp", "no coordinate reference system", ".prj"]


def _geopackage_without_crs(land, files, tmp_path):
    utm = land["grid"].to_crs(UTM49)
    path = write(utm, tmp_path / "grids_nocrs.gpkg", crs=None)
    return path, "grid", None, ["grids_nocrs.gpkg", "no coordinate reference system"]


def _geojson_with_metres_but_no_crs(land, files, tmp_path):
    # GeoJSON without a "crs" member means WGS84 lon/lat (RFC 7946): UTM metres are refused.
    utm = land["grid"].to_crs(UTM49)
    path = write(utm, tmp_path / "grids_utm_nocrs.geojson", crs=None)
    assert '"crs"' not in path.read_text(encoding="utf-8")
    return path, "grid", None, ["grids_utm_nocrs.geojson", "longitude/latitude", '"crs"']


def _missing_code_column(land, files, tmp_path):
    path = write(land["grid"].rename(columns={"code": "grid_no"}), tmp_path / "g.geojson")
    return path, "grid", None, ["'code'", "grid_no"]


def _missing_name_column(land, files, tmp_path):
    path = write(land["street"].drop(columns=["name"]), tmp_path / "s.geojson")
    return path, "street", None, ["'name'"]


def _malformed_code(land, files, tmp_path):
    rows = [dict(code="44120200100100", name="短了一位", geometry=utm_box(0, 0, 50, 50))]
    return (grids_file(tmp_path, "g.geojson", rows), "grid", None,
            ["feature 1", "'44120200100100'", "malformed", "15"])


def _code_not_under_its_parent(land, files, tmp_path):
    streets = land["street"].copy()
    streets.loc[1, "parent_code"] = "441203"
    path = write(streets, tmp_path / "s.geojson")
    return path, "street", None, [streets.loc[1, "code"], "441203", "does not start"]


def _shapefile_parent_not_matching(land, files, tmp_path):
    communities = land["community"].copy()
    communities.loc[0, "parent_code"] = "441202009"
    path = write(communities, tmp_path / "communities.shp", crs=WEB_MERCATOR)
    return (path, "community", None,
            [communities.loc[0, "code"], "441202009", "does not start"])


def _duplicate_code(land, files, tmp_path):
    code = "441202001001005"
    rows = [dict(code=code, name="甲", geometry=utm_box(-2, 0)),
            dict(code=code, name="乙", geometry=utm_box(-3, 0))]
    return (grids_file(tmp_path, "g.geojson", rows), "grid", None,
            [code, "duplicate", "features 1, 2"])


def _point_geometry(land, files, tmp_path):
    code = "441202001001005"
    rows = [dict(code=code, name="点", geometry=Point(112.4705, 23.0505))]
    return grids_file(tmp_path, "g.geojson", rows), "grid", None, [code, "Point", "polygon"]


def _bow_tie(land, files, tmp_path):
    code = "441202001001001"
    b = utm_box(0, 0).bounds
    bow = Polygon([(b[0], b[1]), (b[2], b[3]), (b[2], b[1]), (b[0], b[3])])
    rows = [dict(code=code, name="蝴蝶结", geometry=bow)]
    return (grids_file(tmp_path, "g.geojson", rows), "grid", None,
            [code, "invalid polygon", "Self-intersection"])


def _overlapping_grids_in_file(land, files, tmp_path):
    # All 16 grids again (so none overlaps its own stored version), one moved 30 m east
    # onto its neighbour inside the same community.
    grids = land["grid"].copy()
    moved = grids.index[grids["code"] == "441202001001001"][0]
    grids.loc[moved, "geometry"] = utm_box(0.3, 0)
    path = write(grids, tmp_path / "g.geojson")
    return path, "grid", None, ["441202001001001", "441202001001003", "overlap", "3000.0 m²"]


def _overlap_with_stored_grid(land, files, tmp_path):
    rows = [dict(code="441202001001005", name="新网格", geometry=utm_box(0.5, 0.5, 50, 50))]
    return (grids_file(tmp_path, "g.geojson", rows), "grid", None,
            ["441202001001005", "existing grid 441202001001001", "2500.0 m²"])


def _missing_parent(land, files, tmp_path):
    rows = [dict(code="441202001009001", name="无主网格", geometry=utm_box(-2, 0))]
    return (grids_file(tmp_path, "g.geojson", rows), "grid", None,
            ["441202001009001", "community 441202001009", "not in the database",
             "--level community"])


def _grid_outside_its_community(land, files, tmp_path):
    # West of the district, not overlapping anything, but claimed by community 001001.
    rows = [dict(code="441202001001005", name="飞地", geometry=utm_box(-1, 0, 60, 100))]
    return (grids_file(tmp_path, "g.geojson", rows), "grid", None,
            ["441202001001005", "outside its community 441202001001"])


def _unknown_inspector(land, files, tmp_path):
    rows = [dict(code="441202001001001", name="甲", inspector="nobody",
                 geometry=land["grid"].geometry.iloc[0])]
    return (grids_file(tmp_path, "g.geojson", rows), "grid", None,
            ["441202001001001", "'nobody'", "user create"])


def _multipart_grid(land, files, tmp_path):
    two = MultiPolygon([utm_box(-3, 0, 50, 50), utm_box(-2, 0, 50, 50)])
    rows = [dict(code="441202001001005", name="两块", geometry=two)]
    return (grids_file(tmp_path, "g.geojson", rows), "grid", None,
            ["441202001001005", "MultiPolygon of 2 parts"])


REFUSALS: dict[str, Case] = {
    f.__name__.lstrip("_"): f for f in (
        _missing_file, _wrong_layer, _unsupported_file, _unreadable_file,
        _shapefile_without_prj, _geopackage_without_crs, _geojson_with_metres_but_no_crs,
        _missing_code_column, _missing_name_column, _malformed_code, _code_not_under_its_parent,
        _shapefile_parent_not_matching,
        _duplicate_code, _point_geometry, _bow_tie, _overlapping_grids_in_file,
        _overlap_with_stored_grid, _missing_parent, _grid_outside_its_community,
        _unknown_inspector, _multipart_grid,
    )
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refused_naming_the_offender_and_nothing_changes(case, db, files, land,
                                                         tmp_path) -> None:
    import_all(db, files)
    before = snapshot(db)
    assert counts(db) == (7, 16)
    path, level, layer, expected = REFUSALS[case](land, files, tmp_path)

    message = refused(db, path, level, layer)

    for text in expected:
        assert text in message, f"{text!r} not in:\n{message}"
    assert snapshot(db) == before


def test_all_problems_are_collected_into_one_refusal(db, files, land, tmp_path) -> None:
    import_all(db, files, LEVELS[:3])
    good = land["grid"].to_dict("records")
    bad = [
        dict(code="4412020010010", name="x", geometry=utm_box(0, 0)),  # malformed
        dict(code="441202001001002", name="dup", geometry=good[1]["geometry"]),  # duplicate
        dict(code="441202002001001", name="pt", geometry=Point(112.47, 23.05)),  # point
    ]
    rows = [g for g in good if g["code"] != "441202002001001"] + bad
    message = refused(db, grids_file(tmp_path, "g.geojson", rows), "grid")
    assert "problems; fix them in the file" in message
    assert "'4412020010010'" in message
    assert "441202001001002: duplicate code" in message
    assert "441202002001001: geometry is a Point" in message
    assert counts(db) == (7, 0)


def test_a_long_refusal_is_capped(db, files, tmp_path) -> None:
    import_all(db, files, LEVELS[:3])
    rows = [dict(code=f"BAD{k:03d}", name="x", geometry=utm_box(k, -5, 50, 50))
            for k in range(MAX_LISTED + 10)]
    message = refused(db, grids_file(tmp_path, "g.geojson", rows), "grid")
    assert f"{MAX_LISTED + 10} problems" in message
    assert "'BAD000'" in message and f"'BAD{MAX_LISTED - 1:03d}'" in message
    assert f"'BAD{MAX_LISTED:03d}'" not in message
    assert "… and 10 more" in message
    assert counts(db) == (7, 0)


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------


def cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ONEGRID_")}
    environ.update(ONEGRID_DB_URL=f"sqlite:///{tmp_path / 'cli.db'}",
                   ONEGRID_VAR_DIR=str(tmp_path / "var"), ONEGRID_SEED_DEMO="never")
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], capture_output=True,
                          text=True, env=environ, timeout=300)


def test_cli_import_regions(tmp_path, land) -> None:
    district = write(land["district"], tmp_path / "district.geojson", crs=UTM49)
    ok = cli(["import-regions", str(district), "--level", "district"], tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "imported 1 district" in ok.stdout and "1 new" in ok.stdout

    streets = land["street"].copy()
    streets.loc[1, "code"] = "44120200X"
    bad = write(streets, tmp_path / "streets.geojson")
    no = cli(["import-regions", str(bad), "--level", "street"], tmp_path)
    assert no.returncode != 0
    assert "'44120200X'" in no.stderr and "feature 2" in no.stderr
    assert "Traceback" not in no.stderr

    engine = create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    try:
        with engine.connect() as conn:
            assert conn.scalars(select(Region.code).order_by(Region.code)).all() == [DISTRICT]
    finally:
        engine.dispose()
