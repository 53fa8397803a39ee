"""Column types that behave the same on SQLite and PostgreSQL/PostGIS.

* :class:`Geometry` — shapely geometries in EPSG:4326. PostgreSQL: a GeoAlchemy2
  ``geometry(<TYPE>, 4326)`` column (GiST-indexed by the migrations). SQLite: WKB in a BLOB,
  located with shapely. Python code only ever sees shapely objects.
* :class:`UTCDateTime` — timezone-aware UTC datetimes on both (SQLite keeps naive UTC).
* :data:`JSONType` — JSON, JSONB on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import shapely
from geoalchemy2 import Geometry as GAGeometry
from geoalchemy2.elements import WKBElement
from sqlalchemy import JSON, DateTime, LargeBinary
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

SRID = 4326

JSONType = JSON().with_variant(JSONB(), "postgresql")


class Geometry(TypeDecorator[shapely.Geometry]):
    """A shapely geometry column, EPSG:4326 (lon, lat)."""

    impl = LargeBinary
    cache_ok = True
    # Read by GeoAlchemy2's DDL hooks: the migrations create GiST indexes themselves.
    spatial_index = False
    use_N_D_index = False  # noqa: N815 (GeoAlchemy2's attribute name)
    srid = SRID
    dimension = 2
    use_typmod = None
    management = False

    def __init__(self, geometry_type: str = "GEOMETRY") -> None:
        super().__init__()
        self.geometry_type = geometry_type.upper()

    def load_dialect_impl(self, dialect: Dialect | None) -> TypeEngine[Any]:
        # GeoAlchemy2's DDL hooks look through TypeDecorators, sometimes with no dialect.
        if dialect is None:
            return LargeBinary()
        if dialect.name == "postgresql":
            return dialect.type_descriptor(
                GAGeometry(geometry_type=self.geometry_type, srid=SRID, spatial_index=False)
            )
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, shapely.Geometry):
            raise TypeError(f"expected a shapely geometry, got {type(value).__name__}")
        if dialect.name == "postgresql":
            # GeoAlchemy2 turns an EWKT string into ST_GeomFromEWKT input.
            return f"SRID={SRID};{shapely.to_wkt(value, rounding_precision=-1)}"
        return shapely.to_wkb(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> shapely.Geometry | None:
        if value is None:
            return None
        if isinstance(value, WKBElement):
            data = value.data
            return shapely.from_wkb(bytes(data) if isinstance(data, memoryview) else data)
        if isinstance(value, memoryview):
            value = bytes(value)
        return shapely.from_wkb(value)

    def copy(self, **kw: Any) -> Geometry:
        return Geometry(self.geometry_type)

    def __repr__(self) -> str:  # stable rendering in Alembic autogenerate
        return f"Geometry({self.geometry_type!r})"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes; naive input is refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a timezone (OneGrid stores UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
