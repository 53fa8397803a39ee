"""The committed demo city (``data/demo/``): counts, codes, exact topology, references.

Reads the committed files only, except the determinism test at the end, which runs the
generator into a temporary folder and compares bytes.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
import yaml
from pyproj import Transformer
from shapely.geometry import shape

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo"
FILES = ["city.json", "regions.geojson", "grids.geojson", "roads.geojson",
         "components.geojson", "shops.geojson", "shop_zones.geojson", "departments.json",
         "users.json", "trackers.json"]
DISTRICTS = {"449902", "449903", "449904"}
MANHOLES = {"0101", "0102", "0103", "0105", "0107"}
DEVICE_PATTERN = {"0122": r"DEV-LGT-\d{6}", "0125": r"CAM-\d{6}", "0308": r"DEV-BIN-\d{6}",
                  "0117": r"DEV-HYD-\d{6}", "0305": r"DEV-SGN-\d{6}",
                  **{t: r"DEV-MHC-\d{6}" for t in MANHOLES}}
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


@cache
def load(name: str) -> Any:
    return json.loads((DEMO / name).read_text(encoding="utf-8"))


@cache
def features(name: str) -> list[dict[str, Any]]:
    return load(name)["features"]


def props(name: str) -> list[dict[str, Any]]:
    return [f["properties"] for f in features(name)]


@cache
def regions(level: str) -> dict[str, tuple[dict[str, Any], shapely.Geometry]]:
    return {f["properties"]["code"]: (f["properties"], shape(f["geometry"]))
            for f in features("regions.geojson") if f["properties"]["level"] == level}


@cache
def grids() -> tuple[list[str], np.ndarray]:
    feats = features("grids.geojson")
    return ([f["properties"]["code"] for f in feats],
            np.array([shape(f["geometry"]) for f in feats]))


@cache
def grid_tree() -> shapely.STRtree:
    return shapely.STRtree(grids()[1])


def points(name: str) -> np.ndarray:
    return shapely.points(np.array([f["geometry"]["coordinates"] for f in features(name)]))


def sym_diff_area(a: shapely.Geometry, b: shapely.Geometry) -> float:
    return float(shapely.area(shapely.symmetric_difference(a, b)))


def utm_areas(geoms: Any) -> np.ndarray:
    to_utm = Transformer.from_crs(4326, load("city.json")["utm_epsg"], always_xy=True)
    return shapely.area(shapely.transform(
        geoms, lambda xy: np.column_stack(to_utm.transform(xy[:, 0], xy[:, 1]))))


# --- counts and files -----------------------------------------------------------------------

def test_every_file_is_there_and_small() -> None:
    sizes = {name: (DEMO / name).stat().st_size for name in FILES}
    assert all(sizes.values())
    assert sum(sizes.values()) < 8_500_000


def test_counts() -> None:
    assert len(regions("district")) == 3
    assert len(regions("street")) >= 10
    assert len(regions("community")) >= 40
    assert 1800 <= len(features("grids.geojson")) <= 2300
    assert len(features("components.geojson")) >= 5000
    assert len(features("shops.geojson")) >= 800
    assert len(load("departments.json")) >= 8
    assert sum(u["role"] == "inspector" for u in load("users.json")) >= 40


def test_collections_are_one_feature_per_line_rounded_and_sorted() -> None:
    for name in FILES:
        if not name.endswith(".geojson"):
            continue
        text = (DEMO / name).read_text(encoding="utf-8")
        lines = text.splitlines()
        assert len(lines) == len(features(name)) + 2, name
        assert not re.search(r"\d\.\d{8,}", text), f"{name}: more than 7 decimals"
        key = "shop_code" if name == "shop_zones.geojson" else "code"
        codes = [p[key] for p in props(name)]
        if name == "regions.geojson":
            order = {"district": 0, "street": 1, "community": 2}
            keys = [(order[p["level"]], p["code"]) for p in props(name)]
            assert keys == sorted(keys)
        else:
            assert codes == sorted(codes), name
        assert len(set(codes)) == len(codes), f"{name}: duplicate codes"


def test_city() -> None:
    city = load("city.json")
    assert (city["code"], city["name"], city["utm_epsg"], city["hotline"]) == (
        "449900", "西江市", 32649, "12319")
    lon, lat = city["center"]
    assert abs(lon - 112.47) < 0.05 and abs(lat - 23.05) < 0.05
    whole = shapely.coverage_union_all(grids()[1])
    assert np.allclose(whole.bounds, city["bbox"], atol=1e-7)
    assert whole.contains(shapely.Point(lon, lat))


# --- codes ---------------------------------------------------------------------------------

def test_region_codes_nest() -> None:
    assert set(regions("district")) == DISTRICTS
    assert all(p["parent_code"] == "449900" for p, _ in regions("district").values())
    for level, parent_level, length in (("street", "district", 9), ("community", "street", 12)):
        for code, (p, _) in regions(level).items():
            assert re.fullmatch(rf"\d{{{length}}}", code), code
            assert p["parent_code"] == code[:length - 3] and p["parent_code"] in regions(
                parent_level), code
            assert int(code[-3:]) >= 1
            assert p["name"] and p["name_en"]
    assert all(p["name"].endswith("街道") for p, _ in regions("street").values())
    assert all(p["name"].endswith("社区") for p, _ in regions("community").values())
    names = [p["name"] for level in ("district", "street", "community")
             for p, _ in regions(level).values()]
    assert len(set(names)) == len(names)


def test_grid_codes() -> None:
    communities = regions("community")
    seqs = defaultdict(list)
    for p in props("grids.geojson"):
        assert re.fullmatch(r"\d{15}", p["code"]), p["code"]
        assert p["code"][:12] == p["community_code"] and p["community_code"] in communities
        assert p["name"].startswith(communities[p["community_code"]][0]["name"])
        seqs[p["community_code"]].append(int(p["code"][12:]))
    assert set(seqs) == set(communities), "a community without grids"
    assert all(sorted(s) == list(range(1, len(s) + 1)) for s in seqs.values())


def test_component_codes() -> None:
    seqs = defaultdict(list)
    for p in props("components.geojson"):
        code = p["code"]
        assert re.fullmatch(r"\d{16}", code), code
        assert code[:6] in DISTRICTS and code[6:10] == p["type_code"]
        assert code[:6] == p["grid_code"][:6]
        seqs[code[:10]].append(int(code[10:]))
    assert all(sorted(s) == list(range(1, len(s) + 1)) for s in seqs.values())


# --- topology ------------------------------------------------------------------------------

def test_grids_are_valid_and_do_not_overlap() -> None:
    geoms = grids()[1]
    assert all(g.geom_type == "Polygon" for g in geoms)
    assert shapely.is_valid(geoms).all()
    left, right = grid_tree().query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert overlap.max(initial=0.0) <= 1e-12


def test_grid_areas() -> None:
    areas = utm_areas(grids()[1])
    stated = np.array([p["area_m2"] for p in props("grids.geojson")])
    assert np.abs(areas - stated).max() <= 0.06
    assert 8000 <= areas.mean() <= 12000
    assert areas.min() >= 6000 and areas.max() <= 16000


def test_every_level_covers_the_same_city_without_gaps() -> None:
    whole = shapely.coverage_union_all(grids()[1])
    assert whole.geom_type == "Polygon" and not whole.interiors and whole.is_valid
    for level in ("community", "street", "district"):
        union = shapely.union_all([g for _, g in regions(level).values()])
        assert sym_diff_area(union, whole) < 1e-10, level
    assert 15e6 < utm_areas([whole])[0] < 30e6


def test_each_region_is_exactly_the_union_of_its_children() -> None:
    codes, geoms = grids()
    children: dict[str, list[shapely.Geometry]] = defaultdict(list)
    for code, geom in zip(codes, geoms, strict=True):
        children[code[:12]].append(geom)
    for level in ("community", "street"):
        for p, geom in regions(level).values():
            children[p["parent_code"]].append(geom)
    for level in ("community", "street", "district"):
        for code, (p, geom) in regions(level).items():
            assert geom.geom_type == "Polygon" and not geom.interiors and geom.is_valid, code
            union = shapely.coverage_union_all(children[code])
            assert sym_diff_area(union, geom) < 1e-12, code
            assert abs(utm_areas([geom])[0] - p["area_m2"]) <= 0.06, code


def test_roads_run_along_grid_edges() -> None:
    vertices = {tuple(xy) for g in grids()[1] for xy in shapely.get_coordinates(g).tolist()}
    for f in features("roads.geojson"):
        p = f["properties"]
        assert re.fullmatch(r"R\d{3}", p["code"]) and p["class"] in (
            "main", "secondary", "branch")
        assert p["name"] and p["name_en"] and p["width_m"] > 0
        assert f["geometry"]["type"] == "LineString"
        assert all(tuple(xy) in vertices for xy in f["geometry"]["coordinates"]), p["code"]


@pytest.mark.parametrize("name", ["components.geojson", "shops.geojson"])
def test_points_lie_strictly_inside_exactly_one_grid(name: str) -> None:
    codes = np.array(grids()[0])
    pts = points(name)
    p_idx, g_idx = grid_tree().query(pts, predicate="intersects")
    assert np.array_equal(np.sort(p_idx), np.arange(len(pts))), "outside or on a shared edge"
    assert shapely.contains_properly(grids()[1][g_idx], pts[p_idx]).all(), "on a grid edge"
    located = codes[g_idx[np.argsort(p_idx)]]
    assert located.tolist() == [p["grid_code"] for p in props(name)]


# --- shops ---------------------------------------------------------------------------------

def uscc_ok(code: str) -> bool:
    if not re.fullmatch(rf"[{USCC_CHARS}]{{18}}", code):
        return False
    total = sum(w * USCC_CHARS.index(c) for w, c in zip(USCC_WEIGHTS, code, strict=False))
    return USCC_CHARS[(31 - total % 31) % 31] == code[17]


def test_shops() -> None:
    shops = props("shops.geojson")
    assert all(re.fullmatch(r"S\d{8}", p["code"]) for p in shops)
    licences = [p["licence_no"] for p in shops]
    assert len(set(licences)) == len(licences) and all(map(uscc_ok, licences))
    assert all(p["licence_no"][2:8] == p["grid_code"][:6] for p in shops)
    assert all(re.fullmatch(r"1[3-9]\d{9}", p["owner_phone"]) for p in shops)
    assert all(p["street_code"] == p["grid_code"][:9] for p in shops)
    assert all(p["name"] and p["category"] and p["address"] and p["owner_name"] for p in shops)
    assert len({p["name"] for p in shops}) == len(shops)
    assert len({p["category"] for p in shops}) >= 5


def test_shop_zones() -> None:
    zones = {f["properties"]["shop_code"]: shape(f["geometry"])
             for f in features("shop_zones.geojson")}
    shops = props("shops.geojson")
    assert set(zones) == {p["code"] for p in shops}
    geoms = np.array([zones[p["code"]] for p in shops])
    assert all(g.geom_type == "Polygon" for g in geoms) and shapely.is_valid(geoms).all()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert (left == right).all(), "two shops' zones touch or overlap"
    areas = utm_areas(geoms)
    assert areas.min() >= 6 * 2.5 * 0.95 and areas.max() <= 15 * 5 * 1.05
    # The zone is in front of the shop's door.
    assert shapely.distance(geoms, points("shops.geojson")).max() < 2e-5


# --- people, departments, devices -------------------------------------------------------------

def test_users_departments_and_trackers() -> None:
    departments = {d["code"] for d in load("departments.json")}
    assert len(departments) == len(load("departments.json")) >= 8
    assert all(re.fullmatch(r"D\d{2}", d) for d in departments)
    users = {u["username"]: u for u in load("users.json")}
    assert len(users) == len(load("users.json"))
    assert {"admin", "command01", "command02", "leader01"} <= set(users)
    assert all(u["role"] in ("inspector", "command", "handler", "leader", "admin")
               for u in users.values())
    assert all(u["department"] is None or u["department"] in departments
               for u in users.values())
    assert {u["department"] for u in users.values() if u["role"] == "handler"} == departments
    assert all(f"handler_{d.lower()}" in users for d in departments)
    assert not any("password" in key for u in users.values() for key in u)
    inspectors = {n for n, u in users.items() if u["role"] == "inspector"}
    assigned = {p["inspector"] for p in props("grids.geojson")}
    assert assigned == inspectors, "every grid has an inspector, every inspector has grids"
    assert all(re.fullmatch(r"inspector\d{2}", n) for n in inspectors)

    trackers = load("trackers.json")
    assert len({t["code"] for t in trackers}) == len(trackers)
    for t in trackers:
        assert t["kind"] in ("inspector", "vehicle") and t["name"]
        assert t.get("department") is None or t["department"] in departments
        if t["kind"] == "inspector":
            assert re.fullmatch(r"TRK-INS-\d{2}", t["code"]) and t["username"] in inspectors
        else:
            assert re.fullmatch(r"粤H·[A-Z]\d{4}", t["plate"]) and t["username"] is None
    assert sum(t["kind"] == "vehicle" for t in trackers) >= 10
    assert {t["username"] for t in trackers if t["kind"] == "inspector"} == inspectors


def test_component_owners_match_the_catalogue() -> None:
    catalogue = yaml.safe_load((ROOT / "data" / "config" / "component_types.yaml").read_text(
        encoding="utf-8"))
    owner = {t["code"]: t["department"] for t in catalogue["types"]}
    departments = {d["code"] for d in load("departments.json")}
    for p in props("components.geojson"):
        assert p["department"] in departments
        assert p["department"] == owner[p["type_code"]], p["code"]


def test_component_mix_and_devices() -> None:
    comps = props("components.geojson")
    by_type = Counter(p["type_code"] for p in comps)
    assert set(by_type) == set(DEVICE_PATTERN)
    assert 150 <= by_type["0125"] <= 250
    assert 250 <= by_type["0308"] <= 350 and 100 <= by_type["0117"] <= 200
    assert by_type["0122"] >= 3000 and sum(by_type[t] for t in MANHOLES) >= 1000
    assert by_type["0305"] == len(features("shops.geojson"))
    devices = [p["device_code"] for p in comps if p["device_code"] is not None]
    assert len(set(devices)) == len(devices)
    for p in comps:
        if p["device_code"] is not None:
            assert re.fullmatch(DEVICE_PATTERN[p["type_code"]], p["device_code"]), p["code"]
        else:
            assert p["type_code"] in MANHOLES, p["code"]
        assert p["name"] and " 近 " in p["address"]
    covers = [p for p in comps if p["type_code"] in MANHOLES]
    share = sum(p["device_code"] is not None for p in covers) / len(covers)
    assert 0.5 <= share <= 0.7


# --- the generator ---------------------------------------------------------------------------

@pytest.mark.slow  # runs the whole generator (a few seconds)
def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(DEMO / "generate.py"), str(tmp_path)], check=True,
                   capture_output=True, timeout=300)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (DEMO / name).read_bytes(), (
            f"{name} differs from a fresh run: regenerate with python data/demo/generate.py")
