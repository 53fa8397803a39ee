"""The data layer on both real databases: migrations, geometry, append-only history, accounts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy import inspect, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from data.accounts import (
    MAX_FAILED_LOGINS,
    AccountError,
    authenticate,
    create_token,
    create_user,
    user_for_token,
)
from data.migrate import current_revision, downgrade, head_revision, upgrade
from data.models import ApiToken, Base, Case, CaseEvent, Region, UnitGrid, User
from data.types import utcnow
from services import prepare_database


def test_migrations_up_on_empty_database(services) -> None:
    assert current_revision(services.engine) is None
    upgrade(services.engine)
    assert current_revision(services.engine) == head_revision()
    tables = set(inspect(services.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_migrations_down_and_up_again(services) -> None:
    upgrade(services.engine)
    downgrade(services.engine, "base")
    assert current_revision(services.engine) is None
    assert not set(Base.metadata.tables) & set(inspect(services.engine).get_table_names())
    upgrade(services.engine)
    assert current_revision(services.engine) == head_revision()


def test_prepare_database_upgrades_an_old_database_without_seeding(services) -> None:
    # An "older" database: one that predates the schema entirely (no alembic_version).
    with services.engine.begin() as conn:
        conn.execute(text("CREATE TABLE legacy_note (id INTEGER PRIMARY KEY)"))
    assert prepare_database(services, seed=False) is None
    assert current_revision(services.engine) == head_revision()
    assert "legacy_note" in inspect(services.engine).get_table_names()


def test_postgis_columns_have_srid_4326_and_gist_indexes(pg_services) -> None:
    svc = pg_services
    upgrade(svc.engine)
    with svc.engine.connect() as conn:
        cols = conn.execute(text(
            "SELECT f_table_name, f_geometry_column, type, srid FROM geometry_columns "
            "WHERE f_table_schema = current_schema()")).all()
        gist = {r[0] for r in conn.execute(text(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexdef ILIKE '%USING gist%'"))}
    by_table = {(t, c): (g, s) for t, c, g, s in cols}
    assert by_table[("unit_grids", "geom")] == ("POLYGON", 4326)
    assert by_table[("regions", "geom")] == ("MULTIPOLYGON", 4326)
    assert by_table[("components", "geom")] == ("POINT", 4326)
    assert by_table[("shops", "zone")] == ("POLYGON", 4326)
    assert all(srid == 4326 for _, srid in by_table.values())
    for table, column in by_table:
        assert f"ix_{table}_{column}_gist" in gist


def _region_and_grid(session) -> UnitGrid:
    session.add(Region(code="449902", level="district", name="测试区",
                       geom=MultiPolygon([box(112.46, 23.04, 112.48, 23.06)])))
    session.add(Region(code="449902001", level="street", name="测试街道", parent_code="449902"))
    session.add(Region(code="449902001001", level="community", name="测试社区",
                       parent_code="449902001"))
    grid = UnitGrid(code="449902001001001", community_code="449902001001", name="网格1",
                    geom=box(112.47, 23.05, 112.471, 23.051), area_m2=10000.0)
    session.add(grid)
    session.flush()
    return grid


def test_geometry_round_trips_as_shapely(services) -> None:
    upgrade(services.engine)
    with services.transaction() as session:
        _region_and_grid(session)
    with services.session() as session:
        grid = session.scalar(select(UnitGrid))
        region = session.get(Region, "449902")
    assert grid.geom.equals(box(112.47, 23.05, 112.471, 23.051))
    assert region.geom.geom_type == "MultiPolygon"
    assert grid.created_at.tzinfo is not None


def test_postgis_locates_in_sql(pg_services) -> None:
    svc = pg_services
    upgrade(svc.engine)
    with svc.transaction() as session:
        _region_and_grid(session)
    with svc.session() as session:
        inside = session.execute(text(
            "SELECT code FROM unit_grids WHERE ST_Covers(geom, "
            "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"), {"x": 112.4705, "y": 23.0505}).all()
        outside = session.execute(text(
            "SELECT code FROM unit_grids WHERE ST_Covers(geom, "
            "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"), {"x": 112.5, "y": 23.0505}).all()
    assert inside == [("449902001001001",)]
    assert outside == []


def test_bad_grid_code_length_is_refused_by_the_database(services) -> None:
    upgrade(services.engine)
    with pytest.raises(IntegrityError), services.transaction() as session:
        _region_and_grid(session)
        session.add(UnitGrid(code="4499020010010", community_code="449902001001", name="x",
                             geom=box(0, 0, 1, 1), area_m2=1.0))
        session.flush()


def _case_with_event(session) -> CaseEvent:
    case = Case(code="C202611230001", source="inspector", category_kind="event",
                category_code="0501", status="reported", title="占道经营",
                geom=Point(112.4705, 23.0505))
    session.add(case)
    session.flush()
    event = CaseEvent(case_id=case.id, seq=1, action="report", from_state=None,
                      to_state="reported", actor_role="inspector", note="发现占道经营")
    session.add(event)
    session.flush()
    return event


def test_case_events_are_append_only(services) -> None:
    upgrade(services.engine)
    with services.transaction() as session:
        event_id = _case_with_event(session).id
    with pytest.raises(DBAPIError, match="append-only"), services.transaction() as session:
        session.execute(update(CaseEvent).where(CaseEvent.id == event_id).values(note="edited"))
    with pytest.raises(DBAPIError, match="append-only"), services.transaction() as session:
        session.execute(text("DELETE FROM case_events"))
    with services.session() as session:
        assert session.get(CaseEvent, event_id).note == "发现占道经营"
    # Appending is allowed.
    with services.transaction() as session:
        case_id = session.scalar(select(Case.id))
        session.add(CaseEvent(case_id=case_id, seq=2, action="register", from_state="reported",
                              to_state="registered", actor_role="command"))
    with services.session() as session:
        assert len(session.scalars(select(CaseEvent)).all()) == 2


def test_accounts_create_authenticate_lockout(services) -> None:
    upgrade(services.engine)
    with services.transaction() as session:
        create_user(session, "zhang", "inspector", "correct horse", display_name="张三")
    with services.transaction() as session:
        with pytest.raises(AccountError, match="exists"):
            create_user(session, "zhang", "inspector", "another password")
        with pytest.raises(AccountError, match="role"):
            create_user(session, "li", "mayor", "long enough")
        with pytest.raises(AccountError, match="too short"):
            create_user(session, "li", "leader", "short")
        with pytest.raises(AccountError, match="department"):
            create_user(session, "li", "handler", "long enough", department_code="NOPE")
    with services.transaction() as session:
        user, reason = authenticate(session, "zhang", "correct horse")
        assert user is not None and reason == ""
        assert authenticate(session, "nobody", "correct horse") == (None, "bad_credentials")
        # Junk a browser could send is a failed login, not a database error.
        assert authenticate(session, "zh\x00ang", "x")[1] == "bad_credentials"
        assert authenticate(session, "z" * 5000, "x")[1] == "bad_credentials"
    now = utcnow()
    for i in range(MAX_FAILED_LOGINS):
        with services.transaction() as session:
            _, reason = authenticate(session, "zhang", "wrong", now=now)
            assert reason == ("locked" if i == MAX_FAILED_LOGINS - 1 else "bad_credentials")
    with services.transaction() as session:
        # Locked: even the right password is refused until the lock expires.
        assert authenticate(session, "zhang", "correct horse", now=now)[1] == "locked"
        later = now + timedelta(minutes=16)
        user, reason = authenticate(session, "zhang", "correct horse", now=later)
        assert user is not None and reason == ""
    with services.session() as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "zhang"))
    assert "correct horse" not in stored


def test_api_tokens_are_hashed_and_revocable(services) -> None:
    upgrade(services.engine)
    with services.transaction() as session:
        create_user(session, "bot", "command", None, display_name="12345 热线对接")
        token = create_token(session, "bot", "hotline")
        with pytest.raises(AccountError, match="not found"):
            create_token(session, "ghost")
    with services.transaction() as session:
        assert session.scalar(select(ApiToken.token_hash)) != token
        assert token not in str(session.execute(select(ApiToken.__table__)).all())
        assert user_for_token(session, token).username == "bot"
        assert user_for_token(session, token + "x") is None
        assert user_for_token(session, "not-a-token") is None
        session.execute(update(ApiToken).values(revoked_at=utcnow()))
    with services.transaction() as session:
        assert user_for_token(session, token) is None


def test_migrations_match_the_models(services) -> None:
    """A column added to models.py without a migration (or the reverse) fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    upgrade(services.engine)
    with services.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # PostGIS' own tables live in public and are not ours; GiST indexes exist only on
    # PostgreSQL and are created by the migrations themselves.
    diff = [d for d in diff if not (d[0] == "remove_table" and d[1].name in (
        "spatial_ref_sys", "geometry_columns", "geography_columns"))
        and not (d[0] == "remove_index" and d[1].name.endswith("_gist"))]
    assert diff == []
