"""OneGrid — composition root and command line.

``python app.py`` (no arguments) creates ``var/onegrid.db`` if missing, upgrades its schema,
seeds the demo city on first run and serves the command center on http://127.0.0.1:8050.
``python app.py --help`` lists the subcommands.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from settings import ROOT, Settings, SettingsError

if TYPE_CHECKING:  # the web stack is imported only by the commands that serve pages
    import threading

    import dash

    from services import Services

log = logging.getLogger("onegrid")


def create_app(services: Services) -> dash.Dash:
    """The Dash app on its Flask server, with auth, health and every page and callback."""
    import dash
    import flask

    from api import auth, health
    from services import EXTENSION_KEY

    settings = services.settings
    server = flask.Flask(__name__)
    server.config.update(
        SECRET_KEY=settings.resolved_secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="onegrid_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    server.extensions[EXTENSION_KEY] = services
    auth.install(server)
    server.register_blueprint(health.bp)
    from api import exports, geo, media, open311, v1
    server.register_blueprint(v1.bp)
    server.register_blueprint(geo.bp)
    server.register_blueprint(open311.bp)
    server.register_blueprint(media.bp)
    server.register_blueprint(exports.bp)
    from api import shop_links
    server.register_blueprint(shop_links.bp)
    from api import public
    server.register_blueprint(public.bp)
    from api import shop_exports
    server.register_blueprint(shop_exports.bp)

    app = dash.Dash(
        __name__,
        server=server,
        use_pages=True,
        pages_folder=str(ROOT / "layouts"),
        assets_folder=str(ROOT / "assets"),
        serve_locally=True,
        title="一网统管 OneGrid",
        update_title=None,
        suppress_callback_exceptions=True,
    )
    import callbacks  # registers every page's callbacks

    callbacks.register()  # (again, if an earlier app in this process took them)
    from layouts._shell import shell

    app.layout = shell
    return app


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        sys.exit(f"configuration error: {exc}")


def _services(settings: Settings) -> Services:
    from data.config import ConfigError
    from services import build_services

    try:
        return build_services(settings)
    except ConfigError as exc:
        sys.exit(f"configuration error: {exc}")


def warm_up(services: Services) -> None:
    """Prepare what the first pages need (the grids' outlines, ``api.geo``), then take the
    long-lived objects out of the garbage collector's view: at 10,000 grids a full collection
    over them took 120 ms and landed in the middle of a big-screen refresh every few."""
    import gc

    from api.geo import warm

    warm(services)
    gc.collect()
    gc.freeze()


def keep_warm(services: Services, stop: threading.Event, every_s: float = 600.0) -> None:
    """:func:`warm_up` now and every ``every_s`` seconds (the outlines' cache is rebuilt)."""
    while True:
        warm_up(services)
        if stop.wait(every_s):
            return


class Background:
    """What runs beside the web server: the embedded broker, an ingest worker, the simulator."""

    def __init__(self) -> None:
        self.stops: list = []

    def start(self, services: Services, *, ingest: bool) -> None:
        import threading

        from data.scheduler import Scheduler
        from sensors.broker import EmbeddedBroker, parse_mqtt_url
        from sensors.worker import IngestWorker, default_name

        settings = services.settings
        warm_stop = threading.Event()
        threading.Thread(target=keep_warm, args=(services, warm_stop), daemon=True,
                         name="keep-warm").start()
        self.stops.append(warm_stop.set)
        scheduler = Scheduler(services).start()
        self.stops.append(scheduler.stop)
        url = settings.mqtt_url
        if url is None:
            broker = EmbeddedBroker().start()
            self.stops.append(broker.stop)
            url = broker.url
            scheduler.mqtt_url = url  # shop notices go out on the embedded broker
            print(f"embedded MQTT broker listening on {broker.host}:{broker.port} "
                  "(set ONEGRID_MQTT_URL to use your own broker)", flush=True)
        target = parse_mqtt_url(url)
        if ingest:
            # The embedded broker lets 100 messages wait unacknowledged per connection:
            # commit (and acknowledge) every 50 so the window never runs dry.
            worker = IngestWorker(services, target, settings.ingest_name or default_name(),
                                  batch_size=50 if settings.mqtt_url is None else 500)
            worker.start()
            self.stops.insert(0, worker.stop)
        if settings.simulate == "always" or (settings.simulate == "auto"
                                              and settings.mqtt_url is None):
            from sensors.simulator import run_simulator

            stop = threading.Event()
            thread = threading.Thread(
                target=run_simulator, args=(url,), daemon=True, name="simulator",
                kwargs=dict(rate=settings.sim_rate, seed=1, duration_s=None, stop_event=stop,
                            client_id="onegrid-simulator"))
            thread.start()
            self.stops.insert(0, stop.set)
            print(f"device simulator publishing the demo city's traffic to {url}", flush=True)

    def stop(self) -> None:
        for stop in self.stops:
            try:
                stop()
            except Exception:  # stopping is best effort
                log.exception("while stopping")


def cmd_web(args: argparse.Namespace) -> int:
    settings = _settings()
    services = _services(settings)
    from services import prepare_database

    prepare_database(services, seed=False if args.no_seed else None)
    app = create_app(services)
    host = args.host or settings.host
    port = args.port or settings.port
    background = Background()
    background.start(services, ingest=not args.no_ingest)
    print(f"OneGrid serving on http://{host}:{port}  (database: {settings.db_url})", flush=True)
    try:
        if args.debug:
            app.run(host=host, port=port, debug=True, use_reloader=False)
        else:
            from waitress import serve

            serve(app.server, host=host, port=port, threads=8, ident="OneGrid")
    finally:
        background.stop()
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = _settings()
    services = _services(settings)
    from sensors.broker import parse_mqtt_url
    from sensors.worker import default_name, run_workers
    from services import prepare_database

    url = args.url or settings.mqtt_url
    if url is None:
        sys.exit("ingest needs a broker: set ONEGRID_MQTT_URL (or pass --url); "
                 "'python app.py' alone runs the embedded broker with ingest built in")
    try:
        target = parse_mqtt_url(url)
    except ValueError as exc:
        sys.exit(f"configuration error: {exc}")
    if args.workers > 1 and not target.shared:
        sys.exit(f"--workers {args.workers} needs a shared subscription: remove shared=0 from "
                 "the broker URL (workers on a plain subscription would each store every "
                 "message)")
    prepare_database(services, seed=False)
    name = args.name or settings.ingest_name or default_name()
    return run_workers(services, target, name, args.workers, batch_size=args.batch_size,
                       rules=not args.no_rules)


def cmd_simulate(args: argparse.Namespace) -> int:
    settings = _settings()
    from sensors.simulator import run_simulator

    url = args.url or settings.mqtt_url
    if url is None:
        sys.exit("simulate needs a broker: set ONEGRID_MQTT_URL or pass --url "
                 "(the embedded broker prints its URL when 'python app.py' starts)")
    stats = run_simulator(url, rate=args.rate if args.rate else settings.sim_rate,
                          seed=args.seed, duration_s=args.duration, speedup=args.speedup,
                          client_id=args.client_id)
    print(stats)
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    settings = _settings()
    services = _services(settings)
    import signal

    from data.scheduler import Scheduler
    from services import prepare_database

    prepare_database(services, seed=False)
    scheduler = Scheduler(services)
    if args.once:
        warned, overdue = scheduler.clock_pass()
        silent = scheduler.silence_pass()
        sent = scheduler.notice_pass()
        print(f"clock: {warned} warned, {overdue} overdue; {silent} device outcome(s); "
              f"shop notices: {len(sent.reminded)} reminded, {len(sent.sent)} sent, "
              f"{len(sent.retrying)} to retry")
        return 0
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: scheduler.stop_event.set())
    print("case scheduler running (clock every 15 s, silent devices every 60 s)", flush=True)
    scheduler.run()
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    settings = _settings()
    services = _services(settings)
    from services import prepare_database

    history = args.history
    if history is None:
        history = not args.schema_only and settings.demo_history == "auto"
    report = prepare_database(services, seed=not args.schema_only, history=False)
    print(report.summary() if report else "schema is current")
    if history:
        from services import seed_demo_history

        done = seed_demo_history(services)
        print(done.summary() if done is not None
              else "demo history: nothing to do (already there, or no demo city)")
    return 0


def cmd_import_regions(args: argparse.Namespace) -> int:
    settings = _settings()
    services = _services(settings)
    from data.regions_import import ImportRefused, import_regions
    from services import prepare_database

    prepare_database(services, seed=False)
    try:
        with services.transaction() as session:
            result = import_regions(session, Path(args.file), args.level, layer=args.layer)
    except ImportRefused as exc:
        print(f"refused, nothing imported: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0


def _read_password(prompt: str) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("again: ") != first:
            sys.exit("passwords differ: nothing changed")
        return first
    return sys.stdin.readline().rstrip("\n")


def cmd_user_create(args: argparse.Namespace) -> int:
    settings = _settings()
    services = _services(settings)
    from data.accounts import AccountError, create_user
    from services import prepare_database

    prepare_database(services, seed=False)
    password = _read_password(f"password for {args.name}: ")
    try:
        with services.transaction() as session:
            user = create_user(session, args.name, args.role, password,
                               display_name=args.display_name, department_code=args.department)
            print(f"created user {user.username} ({user.role})")
    except AccountError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    settings = _settings()
    services = _services(settings)
    from data.accounts import AccountError, create_token
    from services import prepare_database

    prepare_database(services, seed=False)
    try:
        with services.transaction() as session:
            token = create_token(session, args.user, args.name)
    except AccountError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    print(token)
    print("keep it now: it is shown once and only its hash is stored", file=sys.stderr)
    return 0


def cmd_shop_scores(args: argparse.Namespace) -> int:
    """A month's shop scores (门前三包): the frozen month when published, else a preview;
    ``--freeze`` publishes it (once)."""
    settings = _settings()
    services = _services(settings)
    from data.shop_scores import (
        ShopScoreError,
        freeze_month,
        last_month,
        month_scores,
        preview_month,
    )
    from services import prepare_database

    prepare_database(services, seed=False)
    tz = services.cases.calendar.tz
    month = args.month or last_month(tz=tz)
    try:
        if args.freeze:
            with services.transaction() as session:
                scores = freeze_month(session, month, tz=tz)
        else:
            with services.session() as session:
                scores = month_scores(session, month) or preview_month(session, month, tz=tz)
    except ShopScoreError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    print(scores.summary())
    return 0


def cmd_shops_import(args: argparse.Namespace) -> int:
    settings = _settings()
    services = _services(settings)
    from data.shop_registry import import_shop_file
    from services import prepare_database
    from shops.registry import RegistryFileError

    prepare_database(services, seed=False)
    path = Path(args.file)
    if not path.is_file():
        print(f"refused: no file {path}", file=sys.stderr)
        return 2
    try:
        with services.transaction() as session:
            report = import_shop_file(session, path, dry_run=args.dry_run)
    except RegistryFileError as exc:
        print(f"refused, nothing imported: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 1 if report.failed else 0


def cmd_shops_revoke(args: argparse.Namespace) -> int:
    settings = _settings()
    services = _services(settings)
    from sqlalchemy import select

    from data.models import User
    from data.shop_registry import revoke_token, shop_by_code
    from services import prepare_database
    from shops.tokens import public_url_for

    prepare_database(services, seed=False)
    with services.transaction() as session:
        shop = shop_by_code(session, args.code)
        if shop is None:
            print(f"refused: no shop {args.code}", file=sys.stderr)
            return 2
        by = None
        if args.by:
            by = session.scalar(select(User).where(User.username == args.by))
            if by is None:
                print(f"refused: no user {args.by}", file=sys.stderr)
                return 2
        token = revoke_token(session, shop, by)
        print(f"shop {shop.code} {shop.name}: old QR code revoked, new one issued")
        print(public_url_for(settings.public_url, token))
    print("print a new plaque: python app.py plaques --street <street code>", file=sys.stderr)
    return 0


def cmd_plaques(args: argparse.Namespace) -> int:
    settings = _settings()
    services = _services(settings)
    from data.shop_registry import StreetNotFoundError, plaques_for_street
    from reports.pdf import FontMissingError
    from reports.plaques import build_plaques
    from services import prepare_database

    prepare_database(services, seed=False)
    try:
        with services.session() as session:
            sheet = plaques_for_street(session, args.street)
        if not sheet.plaques:
            print(f"street {args.street} has no active shops: nothing to print", file=sys.stderr)
            return 1
        data = build_plaques(sheet, public_url=settings.public_url, hotline=settings.hotline)
    except (StreetNotFoundError, FontMissingError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out or f"plaques-{args.street}.pdf")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"{out.resolve()}: {len(sheet.plaques)} plaques (A5, one a page)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python app.py",
        description="OneGrid city operations command center. With no subcommand: "
                    "'web' on the embedded defaults (SQLite in ./var, demo city).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    web = sub.add_parser("web", help="serve the command center (default)")
    web.add_argument("--host", help="address to bind (default ONEGRID_HOST or 127.0.0.1)")
    web.add_argument("--port", type=int, help="port (default ONEGRID_PORT or 8050)")
    web.add_argument("--no-seed", action="store_true", help="never seed the demo city")
    web.add_argument("--no-ingest", action="store_true",
                     help="do not run an MQTT ingest worker in this process")
    web.add_argument("--debug", action="store_true", help="Dash debug server (development)")
    web.set_defaults(func=cmd_web)

    seed = sub.add_parser("seed", help="create/upgrade the schema and load the demo city "
                                       "and its case history (idempotent)")
    seed.add_argument("--schema-only", action="store_true", help="only upgrade the schema")
    seed.add_argument("--history", action=argparse.BooleanOptionalAction, default=None,
                      help="also write two months of demo case history up to now (default: "
                           "ONEGRID_DEMO_HISTORY, auto = yes; once: a second run adds nothing)")
    seed.set_defaults(func=cmd_seed)

    ing = sub.add_parser("ingest", help="MQTT ingest workers (needs ONEGRID_MQTT_URL)")
    ing.add_argument("--workers", type=int, default=1,
                     help="worker processes sharing the stream (MQTT shared subscription)")
    ing.add_argument("--name", help="client id prefix (unique per machine; default "
                                    "onegrid-ingest-<hostname>)")
    ing.add_argument("--url", help="broker URL, overrides ONEGRID_MQTT_URL")
    ing.add_argument("--batch-size", type=int, default=500,
                     help="messages per transaction at most (keep it below the broker's "
                          "in-flight window: Mosquitto 1000 as shipped, embedded 100)")
    ing.add_argument("--no-rules", action="store_true",
                     help="store messages without running the case rules (benchmarks)")
    ing.set_defaults(func=cmd_ingest)

    sch = sub.add_parser("scheduler", help="run the case clock (warnings, overdue marks, "
                                           "escalation) and the silent-device check; the web "
                                           "process runs one too, and any number may run")
    sch.add_argument("--once", action="store_true", help="one pass, then exit")
    sch.set_defaults(func=cmd_scheduler)

    sim = sub.add_parser("simulate", help="publish the demo city's device traffic")
    sim.add_argument("--url", help="broker URL (default ONEGRID_MQTT_URL)")
    sim.add_argument("--rate", type=float, help="messages per second (default: real "
                                                "schedules, or ONEGRID_SIM_RATE)")
    sim.add_argument("--duration", type=float, help="seconds to run (default: until stopped)")
    sim.add_argument("--speedup", type=float, default=1.0, help="simulated time per real "
                                                                "second")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--client-id", default="onegrid-simulator")
    sim.set_defaults(func=cmd_simulate)

    imp = sub.add_parser("import-regions",
                         help="import districts, streets, communities or unit grids from a "
                              "GeoJSON, GeoPackage or Shapefile (any CRS)")
    imp.add_argument("file", help="the file to import")
    imp.add_argument("--level", required=True,
                     choices=("district", "street", "community", "grid"))
    imp.add_argument("--layer", help="layer name inside a GeoPackage (default: the first)")
    imp.set_defaults(func=cmd_import_regions)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="action",
                                                                         metavar="ACTION")
    uc = user.add_parser("create", help="create a user; the password is read from stdin")
    uc.add_argument("name", help="login name")
    uc.add_argument("--role", required=True,
                    choices=("command", "inspector", "handler", "leader", "admin",
                             "shop_owner"))
    uc.add_argument("--display-name", help="name shown in the interface")
    uc.add_argument("--department", help="department code (handlers)")
    uc.set_defaults(func=cmd_user_create)

    token = sub.add_parser("token", help="manage API tokens").add_subparsers(dest="action",
                                                                             metavar="ACTION")
    tc = token.add_parser("create", help="issue an API token for an integration")
    tc.add_argument("--user", required=True, help="the user the token acts as")
    tc.add_argument("--name", default="integration", help="what the token is for")
    tc.set_defaults(func=cmd_token_create)

    ss = sub.add_parser("shop-scores", help="a month's shop scores (门前三包): show the "
                                            "frozen month or a preview; --freeze publishes it")
    ss.add_argument("--month", help="YYYY-MM (default: the last month that has ended)")
    ss.add_argument("--freeze", action="store_true",
                    help="freeze (publish) the month once; a published month never changes")
    ss.set_defaults(func=cmd_shop_scores)

    shops = sub.add_parser("shops", help="the shop registry (门前三包): import, revoke QR codes")
    shops_sub = shops.add_subparsers(dest="action", metavar="ACTION")
    si = shops_sub.add_parser("import", help="import shops from a CSV or XLSX file (a re-run "
                                             "updates by licence number, else by code)")
    si.add_argument("file", help="the .csv or .xlsx file")
    si.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
    si.set_defaults(func=cmd_shops_import)
    sr = shops_sub.add_parser("revoke", help="revoke a shop's QR code and issue a new one")
    sr.add_argument("code", help="the shop's code, e.g. S00000001")
    sr.add_argument("--by", help="username recorded as revoking it")
    sr.set_defaults(func=cmd_shops_revoke)

    plq = sub.add_parser("plaques", help="a street's responsibility plaques (门前三包责任牌) as "
                                         "a print-ready PDF, A5, one a page")
    plq.add_argument("--street", required=True, help="street (街道) code, e.g. 449902001")
    plq.add_argument("--out", help="the PDF to write (default plaques-<street>.pdf)")
    plq.set_defaults(func=cmd_plaques)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=_settings().log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command is None:
        args = parser.parse_args(["web", *(argv or [])])
    if not hasattr(args, "func"):
        parser.parse_args([args.command, "--help"])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
