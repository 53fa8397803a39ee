"""Locating points to unit grids with the database's own means.

PostgreSQL/PostGIS answers in SQL (``ST_Covers`` on the GiST-indexed grid polygons); SQLite
has no spatial functions here, so a :class:`gis.GridIndex` built from the stored WKB answers.
Both follow the same edge rule as :mod:`gis.locate`: a point covered by several grids (on a
shared edge or vertex) belongs to the one with the lowest code.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from data.models import UnitGrid
from gis import GridIndex

_PG_LOCATE = text(
    "SELECT p.i, (SELECT g.code FROM unit_grids g "
    "             WHERE ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)) "
    "             ORDER BY g.code LIMIT 1) "
    "FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS p(x, y, i)"
)


class GridLocator:
    """Point → unit-grid code on either database; one instance per engine is enough.

    On SQLite the shapely index is rebuilt when the grids change (their count or total area
    changes — what an import of grids changes).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: GridIndex | None = None
        self._version: tuple[int, float] | None = None

    def _sqlite_index(self, session: Session) -> GridIndex:
        version = tuple(session.execute(
            select(func.count(), func.coalesce(func.sum(UnitGrid.area_m2), 0.0))).one())
        with self._lock:
            if self._index is None or version != self._version:
                rows = session.execute(select(UnitGrid.code, UnitGrid.geom)).all()
                self._index = GridIndex.from_polygons([r[0] for r in rows], [r[1] for r in rows])
                self._version = version  # type: ignore[assignment]
            return self._index

    def locate_many(self, session: Session, lons: Sequence[float],
                    lats: Sequence[float]) -> list[str | None]:
        """The grid code of each point, ``None`` for points outside every grid."""
        if len(lons) != len(lats):
            raise ValueError("lons and lats differ in length")
        if not lons:
            return []
        if session.get_bind().dialect.name == "postgresql":
            rows = session.execute(_PG_LOCATE, {"xs": list(map(float, lons)),
                                                "ys": list(map(float, lats))}).all()
            return [code for _, code in sorted(rows)]
        return list(self._sqlite_index(session).locate_many_codes(lons, lats))

    def locate(self, session: Session, lon: float, lat: float) -> str | None:
        return self.locate_many(session, [lon], [lat])[0]
