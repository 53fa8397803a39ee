"""Benchmark point-to-grid location (单元网格定位) against a plain shapely STRtree.

Run from the repository root::

    python bench/locate.py [--points N] [--repeats R] [--calls C]

Grids come from ``data/demo/grids.geojson`` (FeatureCollection, Polygon geometry, ``code``
property); when that file is missing a synthetic jittered lattice of 45 x 45 = 2,025 grids
around 112.47°E, 23.05°N is used instead, and the output says so.

Timing is honest in this sense: ``GridIndex.locate_many`` takes the raw lon/lat arrays and
needs no Point objects. For the STRtree, creating the Points is timed separately and excluded
from the headline ratio (the stricter comparison for GridIndex); the figure including it is
printed too. Both sides get the best of ``--repeats`` runs on the same points.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gis.locate import GridIndex  # noqa: E402
from gis.synthetic import lattice_grids  # noqa: E402

GRIDS_FILE = ROOT / "data" / "demo" / "grids.geojson"

TARGET_POINTS_PER_S = 500_000
TARGET_RATIO = 0.8
TARGET_P99_US = 50.0


def load_index() -> tuple[GridIndex, str, float]:
    """Build the index from the demo file or the synthetic lattice; returns build seconds."""
    if GRIDS_FILE.exists():
        collection = json.loads(GRIDS_FILE.read_text(encoding="utf-8"))
        t0 = time.perf_counter()
        index = GridIndex.from_features(collection)
        source = f"{GRIDS_FILE.relative_to(ROOT)}"
    else:
        codes, polys = lattice_grids(45, 45, jitter=0.2, seed=1)
        t0 = time.perf_counter()
        index = GridIndex.from_polygons(codes, polys)
        source = (
            f"SYNTHETIC jittered 45x45 lattice ({len(codes):,} grids, ~100 m) around "
            f"112.47E 23.05N, because {GRIDS_FILE.relative_to(ROOT)} was not found"
        )
    return index, source, time.perf_counter() - t0


def best_of(repeats: int, fn) -> tuple[float, object]:
    best = float("inf")
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def lowest_hit(pairs: np.ndarray, n: int) -> np.ndarray:
    """Resolve STRtree (point, grid) pairs to one grid per point: the lowest index."""
    none = np.iinfo(np.int64).max
    best = np.full(n, none, dtype=np.int64)
    np.minimum.at(best, pairs[0], pairs[1])
    best[best == none] = -1
    return best


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000, help="random points (1e6)")
    parser.add_argument("--repeats", type=int, default=3, help="throughput repeats (best of)")
    parser.add_argument("--calls", type=int, default=20_000, help="single locate() calls")
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args(argv)

    index, source, build_s = load_index()
    print(f"grids: {source}")
    print(f"index: {index!r}, built in {build_s * 1000:.0f} ms")

    xmin, ymin, xmax, ymax = index.bounds
    rng = np.random.default_rng(args.seed)
    n = args.points
    lons = rng.uniform(xmin, xmax, n)
    lats = rng.uniform(ymin, ymax, n)
    print(f"points: {n:,} uniform random in the city bbox (seed {args.seed})")

    t_ours, ours = best_of(args.repeats, lambda: index.locate_many(lons, lats))
    ours_rate = n / t_ours

    tree = shapely.STRtree(index.polygons)
    t_points, points = best_of(args.repeats, lambda: shapely.points(lons, lats))
    t_tree, pairs = best_of(args.repeats, lambda: tree.query(points, predicate="intersects"))
    tree_rate = n / t_tree
    tree_rate_with_points = n / (t_tree + t_points)
    ratio = ours_rate / tree_rate

    reference = lowest_hit(pairs, n)
    duplicates = pairs.shape[1] - len(np.unique(pairs[0]))
    agree = np.array_equal(ours, reference)

    # Points exactly on shared edges/vertices: every polygon vertex.
    vxy = np.unique(shapely.get_coordinates(shapely.boundary(index.polygons)), axis=0)
    v_ours = index.locate_many(vxy[:, 0], vxy[:, 1])
    v_pairs = tree.query(shapely.points(vxy[:, 0], vxy[:, 1]), predicate="intersects")
    v_ref = lowest_hit(v_pairs, len(vxy))
    v_single = np.array([index.locate_index(x, y) for x, y in vxy.tolist()])
    v_agree = np.array_equal(v_ours, v_ref) and np.array_equal(v_single, v_ref)

    calls = min(args.calls, n)
    call_lons = lons[:calls].tolist()
    call_lats = lats[:calls].tolist()
    single_ok = True
    latencies = np.empty(calls, dtype=np.int64)
    clock = time.perf_counter_ns
    locate = index.locate
    codes = index.codes
    for k in range(calls):
        t0 = clock()
        code = locate(call_lons[k], call_lats[k])
        latencies[k] = clock() - t0
        expected = ours[k]
        if (code is None) != (expected < 0) or (code is not None and code != codes[expected]):
            single_ok = False
    p50, p99 = np.percentile(latencies, [50, 99]) / 1000.0

    outside = int((ours < 0).sum())
    print()
    print(f"GridIndex.locate_many   : {ours_rate:14,.0f} points/s  ({t_ours * 1000:.1f} ms)")
    print(
        f"STRtree.query intersects: {tree_rate:14,.0f} points/s  ({t_tree * 1000:.1f} ms; "
        f"Point creation excluded)"
    )
    print(
        f"  incl. shapely.points  : {tree_rate_with_points:14,.0f} points/s  "
        f"(+{t_points * 1000:.1f} ms creating Points)"
    )
    print(f"ratio GridIndex/STRtree : {ratio:.2f}x (Point creation excluded for STRtree)")
    print(f"  incl. Point creation  : {ours_rate / tree_rate_with_points:.2f}x")
    print(
        f"agreement with STRtree  : {'yes' if agree else 'NO'} on {n:,} points "
        f"({outside:,} outside, {duplicates:,} on edges resolved to lowest code)"
    )
    print(
        f"edge/vertex points      : {'yes' if v_agree else 'NO'} on {len(vxy):,} polygon "
        "vertices (locate_many, locate and STRtree-lowest agree)"
    )
    print(f"locate() latency        : p50 {p50:.2f} us, p99 {p99:.2f} us over {calls:,} calls")
    print()
    checks = [
        (f"throughput >= {TARGET_POINTS_PER_S:,} points/s", ours_rate >= TARGET_POINTS_PER_S),
        (f"ratio vs STRtree >= {TARGET_RATIO}", ratio >= TARGET_RATIO),
        ("results agree with STRtree (random + vertex points)", agree and v_agree),
        ("locate() agrees with locate_many()", single_ok),
        (f"locate() p99 <= {TARGET_P99_US:g} us", p99 <= TARGET_P99_US),
    ]
    for label, ok in checks:
        print(f"{verdict(ok)}  {label}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
