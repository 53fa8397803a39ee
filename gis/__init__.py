"""OneGrid geography: locate points to unit grids (单元网格), check coverages, convert CRS.

Pure Python on shapely, numpy and pyproj: no database, no Dash. Coordinates are WGS84
(EPSG:4326) lon/lat unless a function says otherwise.
"""

from gis.codes import (
    Location,
    is_community_code,
    is_component_code,
    is_district_code,
    is_grid_code,
    is_street_code,
    parent_codes,
)
from gis.crs import (
    area_m2,
    areas_m2,
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_metric,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    project,
    to_metric,
    to_wgs84,
    utm_epsg_for,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from gis.locate import GridIndex
from gis.topology import TopologyReport, check_coverage

__all__ = [
    "GridIndex",
    "Location",
    "TopologyReport",
    "area_m2",
    "areas_m2",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_coverage",
    "from_metric",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "is_community_code",
    "is_component_code",
    "is_district_code",
    "is_grid_code",
    "is_street_code",
    "out_of_china",
    "parent_codes",
    "project",
    "to_metric",
    "to_wgs84",
    "utm_epsg_for",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]
