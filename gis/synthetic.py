"""Synthetic unit grids (单元网格) for tests, benchmarks and demos when no survey data exists.

Nothing here is used in production paths; it builds plausible coverages with valid codes.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import Polygon

__all__ = ["DEFAULT_ORIGIN", "lattice_grids", "metres_to_degrees", "voronoi_grids"]

DEFAULT_ORIGIN = (112.47, 23.05)  # lon, lat: Duanzhou district, Zhaoqing
DEFAULT_DISTRICT = "441202"
_M_PER_DEG_LAT = 111_320.0


def metres_to_degrees(metres: float, lat: float) -> tuple[float, float]:
    """Approximate (dlon, dlat) in degrees for a distance in metres at latitude ``lat``."""
    dlat = metres / _M_PER_DEG_LAT
    dlon = metres / (_M_PER_DEG_LAT * math.cos(math.radians(lat)))
    return dlon, dlat


def _code(district: str, street: int, community: int, seq: int) -> str:
    return f"{district}{street:03d}{community:03d}{seq:03d}"


def lattice_grids(
    nx: int = 10,
    ny: int = 10,
    *,
    origin: tuple[float, float] = DEFAULT_ORIGIN,
    cell_m: float = 100.0,
    jitter: float = 0.0,
    seed: int = 0,
    district: str = DEFAULT_DISTRICT,
) -> tuple[list[str], list[Polygon]]:
    """An ``nx`` × ``ny`` lattice of quadrilateral grids, ~``cell_m`` metres on a side.

    Neighbouring grids share vertices exactly (same floats), so the set is a clean coverage.
    ``jitter`` (fraction of a cell, < 0.3) moves every vertex randomly (seeded) to make
    irregular quadrilaterals. Codes are 15 digits: ``district`` + street (column band of 15)
    + community (row band of 15) + sequence.
    """
    if not 0.0 <= jitter < 0.3:
        raise ValueError("jitter must be in [0, 0.3) so the quadrilaterals stay valid")
    lon0, lat0 = origin
    dlon, dlat = metres_to_degrees(cell_m, lat0)
    rng = np.random.default_rng(seed)
    vx = lon0 + np.arange(nx + 1)[:, None] * dlon + np.zeros((1, ny + 1))
    vy = lat0 + np.arange(ny + 1)[None, :] * dlat + np.zeros((nx + 1, 1))
    if jitter:
        vx = vx + rng.uniform(-jitter, jitter, vx.shape) * dlon
        vy = vy + rng.uniform(-jitter, jitter, vy.shape) * dlat
    codes: list[str] = []
    polys: list[Polygon] = []
    for i in range(nx):
        for j in range(ny):
            ring = [
                (vx[i, j], vy[i, j]),
                (vx[i + 1, j], vy[i + 1, j]),
                (vx[i + 1, j + 1], vy[i + 1, j + 1]),
                (vx[i, j + 1], vy[i, j + 1]),
            ]
            polys.append(Polygon([(float(a), float(b)) for a, b in ring]))
            seq = (i % 15) * 15 + (j % 15) + 1
            codes.append(_code(district, i // 15 + 1, j // 15 + 1, seq))
    return codes, polys


def voronoi_grids(
    n: int = 200,
    *,
    origin: tuple[float, float] = DEFAULT_ORIGIN,
    size_m: float = 1500.0,
    seed: int = 0,
    district: str = DEFAULT_DISTRICT,
) -> tuple[list[str], list[Polygon]]:
    """Irregular grids: Voronoi cells of ``n`` random seeds in a ``size_m`` square, clipped."""
    lon0, lat0 = origin
    dlon, dlat = metres_to_degrees(size_m, lat0)
    rng = np.random.default_rng(seed)
    pts = shapely.multipoints(
        np.column_stack([lon0 + rng.random(n) * dlon, lat0 + rng.random(n) * dlat])
    )
    frame = shapely.box(lon0, lat0, lon0 + dlon, lat0 + dlat)
    cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=frame))
    clipped = [shapely.intersection(c, frame) for c in cells]
    polys = [p for p in clipped if isinstance(p, Polygon) and not p.is_empty]
    codes = [
        _code(district, 1 + k // 900, 1 + (k // 30) % 30, 1 + k % 30) for k in range(len(polys))
    ]
    return codes, polys
