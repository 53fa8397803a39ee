"""Point-to-grid location: which unit grid (单元网格) contains a WGS84 point.

:class:`GridIndex` answers exactly (GEOS predicates on the original polygons), fast:

* A uniform raster over the city's bounding box is built once. A cell whose (slightly
  enlarged) box touches no grid boundary lies wholly inside one grid, or wholly outside the
  city, so a lookup table answers for it directly.
* Only points falling in cells crossed by a grid boundary are tested exactly, against the few
  grids whose polygon meets that cell (``shapely.intersects_xy`` on prepared polygons).

Edge rule. Grids are ordered by code (``GridIndex.codes`` is sorted) and a point belongs to
the grid with the **lowest code among all grids whose closed polygon covers it**. A point on
an edge shared by two grids, or on a vertex shared by several, therefore lands in exactly one
grid, the same one for :meth:`GridIndex.locate` and :meth:`GridIndex.locate_many`, whatever
order the grids were given in. Points on the outer city boundary are inside; a point outside
every grid is outside (``None`` / ``-1``) and is never pushed into the nearest grid. NaN and
infinite coordinates are outside.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import MultiPolygon, Polygon, shape

from gis.codes import Location

__all__ = ["GridIndex"]

OUTSIDE = -1
_BOUNDARY_BASE = -2  # lut value -2 - k means "boundary cell number k"

# Raster resolution: about this many cells across the median grid, capped in total.
_CELLS_PER_GRID = 16
_MAX_CELLS = 1 << 22


class GridIndex:
    """Spatial index of unit grids (单元网格) for exact point-in-grid location.

    Build with :meth:`from_polygons` (or :meth:`from_features` for a GeoJSON-like mapping).
    Polygons are WGS84 lon/lat (EPSG:4326); ``Polygon`` and ``MultiPolygon`` are accepted.
    Indices returned by :meth:`locate_many` refer to :attr:`codes`, which is sorted.
    Answers on invalid polygons (self-intersections) are GEOS's best effort: run
    :func:`gis.topology.check_coverage` on new grid data first. A built index is read-only
    and may be shared between threads.
    """

    def __init__(
        self,
        codes: Sequence[str],
        polygons: Sequence[Polygon | MultiPolygon],
        *,
        cell_size: float | None = None,
        max_cells: int = _MAX_CELLS,
    ) -> None:
        codes_list = list(codes)
        polys_list = list(polygons)
        if len(codes_list) != len(polys_list):
            raise ValueError(
                f"GridIndex: {len(codes_list)} codes but {len(polys_list)} polygons; "
                "give one code per polygon"
            )
        if not codes_list:
            raise ValueError("GridIndex: no grids given; need at least one polygon")
        for code, poly in zip(codes_list, polys_list, strict=True):
            if not isinstance(code, str) or not code:
                raise ValueError(f"GridIndex: grid code must be a non-empty str, got {code!r}")
            if not isinstance(poly, Polygon | MultiPolygon):
                kind = type(poly).__name__
                raise ValueError(f"GridIndex: grid {code}: geometry is {kind}, not a Polygon")
            if poly.is_empty:
                raise ValueError(f"GridIndex: grid {code}: geometry is empty")
        dupes = sorted(c for c, n in Counter(codes_list).items() if n > 1)
        if dupes:
            raise ValueError(f"GridIndex: duplicate grid codes: {', '.join(dupes[:10])}")

        order = sorted(range(len(codes_list)), key=codes_list.__getitem__)
        self.codes: tuple[str, ...] = tuple(codes_list[i] for i in order)
        self._code_to_index = {c: i for i, c in enumerate(self.codes)}
        polys = np.empty(len(order), dtype=object)
        polys[:] = [polys_list[i] for i in order]
        bounds = shapely.bounds(polys)
        if not np.isfinite(bounds).all():
            raise ValueError("GridIndex: polygon coordinates must be finite")
        shapely.prepare(polys)
        # GEOS builds a prepared polygon's point-in-area index lazily, on first use; do it now
        # so concurrent readers of a finished index never race to build it.
        inner = shapely.get_coordinates(shapely.point_on_surface(polys))
        shapely.intersects_xy(polys, inner[:, 0], inner[:, 1])
        self.polygons: NDArray[np.object_] = polys
        self._poly_list: list[Any] = list(polys)
        self._tree = shapely.STRtree(polys)

        xmin, ymin = float(bounds[:, 0].min()), float(bounds[:, 1].min())
        xmax, ymax = float(bounds[:, 2].max()), float(bounds[:, 3].max())
        if xmin < -180.0 or xmax > 180.0 or ymin < -90.0 or ymax > 90.0:
            raise ValueError(
                "GridIndex: polygon coordinates are not lon/lat degrees; "
                "reproject the grids to WGS84 (EPSG:4326) first"
            )
        self.bounds: tuple[float, float, float, float] = (xmin, ymin, xmax, ymax)
        self._build_raster(bounds, cell_size, max_cells)

    # ----------------------------------------------------------------------------------------
    # construction
    # ----------------------------------------------------------------------------------------

    @classmethod
    def from_polygons(
        cls,
        codes: Sequence[str],
        polygons: Sequence[Polygon | MultiPolygon],
        *,
        cell_size: float | None = None,
        max_cells: int = _MAX_CELLS,
    ) -> GridIndex:
        """Index unit grids (单元网格) given as parallel sequences of codes and polygons.

        ``cell_size`` (degrees) sets the accelerator raster; by default about
        1/16 of the median grid's size, with at most ``max_cells`` cells in all.
        Raises ``ValueError`` for mismatched lengths, duplicate codes or non-polygons.
        """
        return cls(codes, polygons, cell_size=cell_size, max_cells=max_cells)

    @classmethod
    def from_features(
        cls, collection: Mapping[str, Any], *, code_property: str = "code", **kwargs: Any
    ) -> GridIndex:
        """Index a GeoJSON FeatureCollection (already parsed) of unit grids (单元网格).

        Each feature needs a Polygon/MultiPolygon geometry and a ``code_property``. GeoJSON is
        WGS84 by definition; a collection declaring another ``crs`` is refused.
        """
        crs = collection.get("crs")
        if crs is not None:
            name = str((crs.get("properties") or {}).get("name", "")).upper()
            if not (name.endswith("CRS84") or name.endswith("4326")):
                raise ValueError(
                    f"grid collection declares CRS {name or crs!r}; expected WGS84 "
                    "(EPSG:4326 / OGC:CRS84). Reproject it before loading."
                )
        codes: list[str] = []
        polys: list[Polygon | MultiPolygon] = []
        for n, feature in enumerate(collection.get("features") or []):
            props = feature.get("properties") or {}
            code = props.get(code_property)
            if code is None:
                raise ValueError(f"feature #{n} has no {code_property!r} property")
            if feature.get("geometry") is None:
                raise ValueError(f"feature #{n} ({code}) has no geometry")
            codes.append(str(code))
            polys.append(shape(feature["geometry"]))
        return cls(codes, polys, **kwargs)

    def _build_raster(
        self, bounds: NDArray[np.float64], cell_size: float | None, max_cells: int
    ) -> None:
        xmin, ymin, xmax, ymax = self.bounds
        width = max(xmax - xmin, 1e-12)
        height = max(ymax - ymin, 1e-12)
        if cell_size is None:
            sizes = np.sqrt((bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1]))
            cell_size = float(np.median(sizes)) / _CELLS_PER_GRID
        if not (cell_size > 0.0 and math.isfinite(cell_size)):
            cell_size = max(width, height)
        cell_size = max(cell_size, math.sqrt(width * height / max(int(max_cells), 1)))
        nx = max(1, min(math.ceil(width / cell_size), max_cells))
        ny = max(1, min(math.ceil(height / cell_size), max(1, max_cells // nx)))
        cx = width / nx
        cy = height / ny
        self._nx, self._ny = nx, ny
        self._x0, self._y0 = xmin, ymin
        self._inv_cx, self._inv_cy = 1.0 / cx, 1.0 / cy
        # Enlarge every cell by this much when deciding it is boundary-free, far above the
        # rounding error of the point-to-cell arithmetic (~1e-13 degrees).
        margin = max(cx, cy) * 1e-6 + 1e-12

        # 1. Candidate cells: every cell whose enlarged box may touch a grid boundary. Sample
        #    the boundaries every `step`; any boundary point is within step/2 of a sample.
        step = min(cx, cy)
        rings = shapely.segmentize(shapely.boundary(self.polygons), step)
        pts = shapely.get_coordinates(rings)
        reach = step / 2.0 + margin
        ix_lo = np.floor((pts[:, 0] - reach - xmin) / cx).astype(np.int64)
        ix_hi = np.floor((pts[:, 0] + reach - xmin) / cx).astype(np.int64)
        iy_lo = np.floor((pts[:, 1] - reach - ymin) / cy).astype(np.int64)
        iy_hi = np.floor((pts[:, 1] + reach - ymin) / cy).astype(np.int64)
        np.clip(ix_lo, 0, nx - 1, out=ix_lo)
        np.clip(ix_hi, 0, nx - 1, out=ix_hi)
        np.clip(iy_lo, 0, ny - 1, out=iy_lo)
        np.clip(iy_hi, 0, ny - 1, out=iy_hi)
        span = int(max((ix_hi - ix_lo).max(), (iy_hi - iy_lo).max())) + 1
        cand_parts = []
        for dx in range(span):
            for dy in range(span):
                ix = ix_lo + dx
                iy = iy_lo + dy
                ok = (ix <= ix_hi) & (iy <= iy_hi)
                cand_parts.append(iy[ok] * nx + ix[ok])
        cand_cells = np.unique(np.concatenate(cand_parts))

        # 2. Exact test: which candidate cells' enlarged boxes meet a boundary.
        cix = cand_cells % nx
        ciy = cand_cells // nx
        boxes = shapely.box(
            xmin + cix * cx - margin,
            ymin + ciy * cy - margin,
            xmin + (cix + 1) * cx + margin,
            ymin + (ciy + 1) * cy + margin,
        )
        ring_tree = shapely.STRtree(shapely.boundary(self.polygons))
        hit_cells = np.unique(ring_tree.query(boxes, predicate="intersects")[0])
        boundary_cells = cand_cells[hit_cells]
        boundary_boxes = boxes[hit_cells]

        # 3. Candidate grids per boundary cell, ascending grid index (CSR layout).
        pairs = self._tree.query(boundary_boxes, predicate="intersects")
        order = np.lexsort((pairs[1], pairs[0]))
        cell_of_pair = pairs[0][order]
        grid_of_pair = pairs[1][order]
        counts = np.bincount(cell_of_pair, minlength=len(boundary_cells))
        ptr = np.zeros(len(boundary_cells) + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        self._cand_ptr = ptr
        self._cand_grid = grid_of_pair.astype(np.int64)
        self._max_candidates = int(counts.max()) if len(counts) else 0

        # 4. Label boundary-free cells. Within a raster row, consecutive boundary-free cells
        #    have the same answer (no boundary separates them), so one representative point
        #    per run is located exactly.
        lut = np.full(nx * ny, OUTSIDE, dtype=np.int32)
        is_boundary = np.zeros(nx * ny, dtype=bool)
        is_boundary[boundary_cells] = True
        free = ~is_boundary
        starts = free.copy()
        starts[1:] &= ~free[:-1]
        starts[::nx] = free[::nx]
        start_cells = np.flatnonzero(starts)
        if len(start_cells):
            rx = xmin + (start_cells % nx + 0.5) * cx
            ry = ymin + (start_cells // nx + 0.5) * cy
            labels = self._lowest_covering(rx, ry)
            run_id = np.cumsum(starts) - 1
            lut[free] = labels[run_id[free]]
        lut[boundary_cells] = _BOUNDARY_BASE - np.arange(len(boundary_cells), dtype=np.int32)
        self._lut = lut
        self._lut_view = memoryview(lut)
        self._ptr_view = memoryview(self._cand_ptr)
        self._grid_view = memoryview(self._cand_grid)
        self.boundary_cell_fraction: float = len(boundary_cells) / float(nx * ny)

    def _lowest_covering(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray:
        """Exact answer via the STRtree: lowest grid index whose polygon covers each point."""
        out = np.full(len(x), OUTSIDE, dtype=np.int64)
        if len(x) == 0:
            return out
        pairs = self._tree.query(shapely.points(x, y), predicate="intersects")
        if pairs.shape[1]:
            best = np.full(len(x), np.iinfo(np.int64).max, dtype=np.int64)
            np.minimum.at(best, pairs[0], pairs[1])
            hit = best != np.iinfo(np.int64).max
            out[hit] = best[hit]
        return out

    # ----------------------------------------------------------------------------------------
    # queries
    # ----------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.codes)

    def __repr__(self) -> str:
        return (
            f"GridIndex({len(self.codes)} grids, raster {self._nx}x{self._ny}, "
            f"{self.boundary_cell_fraction:.1%} boundary cells)"
        )

    def index_of(self, code: str) -> int:
        """Position of ``code`` in :attr:`codes`; raises ``KeyError`` if unknown."""
        return self._code_to_index[code]

    def locate_index(self, lon: float, lat: float) -> int:
        """Index (into :attr:`codes`) of the grid containing the point, or -1 if outside."""
        xmin, ymin, xmax, ymax = self.bounds
        if not (xmin <= lon <= xmax and ymin <= lat <= ymax):  # NaN compares False
            return OUTSIDE
        ix = int((lon - self._x0) * self._inv_cx)
        iy = int((lat - self._y0) * self._inv_cy)
        if ix >= self._nx:
            ix = self._nx - 1
        if iy >= self._ny:
            iy = self._ny - 1
        value = self._lut_view[iy * self._nx + ix]
        if value >= OUTSIDE:
            return value
        k = _BOUNDARY_BASE - value
        polys = self._poly_list
        grids = self._grid_view
        for j in range(self._ptr_view[k], self._ptr_view[k + 1]):
            i = grids[j]
            if shapely.intersects_xy(polys[i], lon, lat):
                return i
        return OUTSIDE

    def locate(self, lon: float, lat: float) -> str | None:
        """Code of the unit grid (单元网格) containing (lon, lat) in WGS84, or ``None``.

        ``None`` when the point lies outside every grid (outside the city) or a coordinate is
        NaN/infinite. Points on shared edges follow the module's edge rule (lowest code wins).
        """
        i = self.locate_index(lon, lat)
        return None if i < 0 else self.codes[i]

    def locate_region(self, lon: float, lat: float) -> Location | None:
        """The grid, community (社区), street (街道) and district (区) of a point, or ``None``.

        Raises ``ValueError`` if the grid found does not have a 15-digit grid code.
        """
        code = self.locate(lon, lat)
        return None if code is None else Location.from_grid_code(code)

    def locate_many(self, lons: ArrayLike, lats: ArrayLike) -> NDArray[np.intp]:
        """Vectorised :meth:`locate_index`: grid indices into :attr:`codes`, -1 outside.

        ``lons`` and ``lats`` are broadcast together; the result has their shape.
        Same answers as :meth:`locate` for every point, shared edges included.
        """
        x = np.asarray(lons, dtype=np.float64)
        y = np.asarray(lats, dtype=np.float64)
        x, y = np.broadcast_arrays(x, y)
        shape = x.shape
        x = x.ravel()
        y = y.ravel()
        out = np.full(x.shape[0], OUTSIDE, dtype=np.intp)
        xmin, ymin, xmax, ymax = self.bounds
        inside = (x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax)
        if inside.all():
            sel = None
            xs, ys = x, y
        else:
            sel = np.flatnonzero(inside)
            xs, ys = x[sel], y[sel]
        if xs.shape[0] == 0:
            return out.reshape(shape)

        ix = ((xs - self._x0) * self._inv_cx).astype(np.intp)
        iy = ((ys - self._y0) * self._inv_cy).astype(np.intp)
        np.minimum(ix, self._nx - 1, out=ix)
        np.minimum(iy, self._ny - 1, out=iy)
        iy *= self._nx
        iy += ix
        values = self._lut[iy].astype(np.intp)

        on_boundary = np.flatnonzero(values <= _BOUNDARY_BASE)
        if on_boundary.shape[0]:
            k = _BOUNDARY_BASE - values[on_boundary]
            values[on_boundary] = self._resolve_boundary(k, xs[on_boundary], ys[on_boundary])
        if sel is None:
            out[:] = values
        else:
            out[sel] = values
        return out.reshape(shape)

    def _resolve_boundary(
        self, k: NDArray[np.intp], x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> NDArray[np.intp]:
        """Exact answers for points in boundary cells ``k``: test candidates in index order."""
        result = np.full(k.shape[0], OUTSIDE, dtype=np.intp)
        pos = self._cand_ptr[k]
        end = self._cand_ptr[k + 1]
        pending = np.arange(k.shape[0])
        polys = self.polygons
        grids = self._cand_grid
        while pending.shape[0]:
            cand = grids[pos[pending]]
            hit = shapely.intersects_xy(polys[cand], x[pending], y[pending])
            result[pending[hit]] = cand[hit]
            miss = pending[~hit]
            pos[miss] += 1
            pending = miss[pos[miss] < end[miss]]
        return result

    def codes_of(self, indices: ArrayLike) -> NDArray[np.object_]:
        """Grid codes for indices from :meth:`locate_many` (object array, ``None`` for -1)."""
        idx = np.asarray(indices, dtype=np.intp)
        table = np.empty(len(self.codes) + 1, dtype=object)
        table[:-1] = self.codes
        table[-1] = None
        bad = (idx < OUTSIDE) | (idx >= len(self.codes))
        if bad.any():
            raise IndexError(f"grid index out of range: {idx[bad].ravel()[0]}")
        return table[idx]

    def locate_many_codes(self, lons: ArrayLike, lats: ArrayLike) -> NDArray[np.object_]:
        """Vectorised :meth:`locate`: object array of grid codes, ``None`` outside."""
        return self.codes_of(self.locate_many(lons, lats))
