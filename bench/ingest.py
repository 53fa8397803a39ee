"""Ingest throughput: published → committed and grid-located, against a bare subscriber.

    python bench/ingest.py [--messages 200000] [--pin]

Runs a Mosquitto of its own (the shipped ``deploy/mosquitto/onegrid.conf`` settings) on a free
127.0.0.1 port and a seeded SQLite database in a temporary folder. In the same run it measures:

1. **bare**: a paho subscriber process that only ``json.loads`` each message (QoS 1);
2. **end-to-end**: ``python app.py ingest`` (one worker) storing every message — 80 %
   readings, 20 % detections without snapshots (each located to its unit grid);

and prints both rates, their ratio (target ≥ 0.7), messages lost (target 0) and the ingest
process's peak RSS (target ≤ 300 MB). ``--pin`` also runs both with the publisher pinned to
one core and the consumer to the other. The ingest runs with the case rules off
(``--no-rules``) unless ``--rules`` is given: this measures the door; what the rules add is
``bench/cases.py``'s figure. Readings carry in-range values, as a healthy city's do.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data.config import load_catalogue  # noqa: E402
from services import build_services, prepare_database  # noqa: E402
from settings import Settings  # noqa: E402
from tests.brokers import MosquittoBroker  # noqa: E402

BARE_SUBSCRIBER = textwrap.dedent("""
    import json, sys, time
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    got = 0
    def on_message(c, u, m):
        global got
        json.loads(m.payload)
        got += 1
    def on_connect(c, u, f, rc, p):
        c.subscribe("$share/bare/onegrid/v1/+/+", qos=1)
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", clean_session=True)
    c.on_message, c.on_connect = on_message, on_connect
    c.connect(host, port)
    c.loop_start()
    print("ready", flush=True)
    while got < n:
        time.sleep(0.01)
    print(time.time(), flush=True)
""")


IN_RANGE = {"tilt_deg": (0.0, 3.0), "displacement_mm": (0.0, 5.0), "water_level_cm": (0.0, 8.0),
            "pressure_mpa": (0.25, 0.4), "current_a": (0.8, 1.2), "voltage_v": (215.0, 228.0),
            "wind_ms": (0.0, 9.0), "fill_pct": (5.0, 70.0)}


def make_messages(db_url: str, n: int, seed: int = 7) -> list[tuple[str, bytes]]:
    """80 % readings with in-range metrics, 20 % detections without snapshots."""
    catalogue = load_catalogue()
    engine = create_engine(db_url)
    with engine.connect() as conn:
        sensors = conn.execute(text(
            "SELECT c.code, c.type_code FROM components c JOIN devices d ON d.component_id = "
            "c.id WHERE d.kind = 'sensor'")).all()
        cameras = conn.scalars(text("SELECT code FROM devices WHERE kind = 'camera'")).all()
    engine.dispose()
    specs = {t.code: t.metrics for t in catalogue.component_types}
    events = [t.detection for t in catalogue.event_types if t.detection]
    rng = random.Random(seed)
    ts = (datetime.now(UTC) - timedelta(seconds=30)).isoformat()
    out = []
    for i in range(n):
        if i % 5 == 4:
            doc = {"msg_id": f"b{i}", "ts": ts, "event": rng.choice(events),
                   "confidence": round(rng.uniform(0.5, 0.99), 2)}
            out.append((f"onegrid/v1/detections/{rng.choice(cameras)}", json.dumps(doc)))
            continue
        code, type_code = rng.choice(sensors)
        metrics = {m.name: (True if m.type == "bool" else
                            round(rng.uniform(*IN_RANGE.get(m.name, (m.min or 0.0,
                                                                    (m.max or 10.0) / 10))), 2))
                   for m in specs[type_code]}
        out.append((f"onegrid/v1/readings/{code}",
                    json.dumps({"msg_id": f"b{i}", "ts": ts, "metrics": metrics})))
    return [(t, p.encode()) for t, p in out]


def publish(port: int, messages: list[tuple[str, bytes]], cpu: int | None) -> float:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{time.time()}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    start = time.time()
    info = None
    for i, (t, p) in enumerate(messages, 1):
        info = client.publish(t, p, qos=1)
        if i % 20_000 == 0:  # paho's packet ids wrap at 65,535: keep fewer outstanding
            info.wait_for_publish(600)
    info.wait_for_publish(600)
    client.loop_stop()
    client.disconnect()
    if cpu is not None:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return start


def _affinity(cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu)] if cpu is not None else []


def bare_rate(port: int, messages: list[tuple[str, bytes]], cpu: int | None) -> float:
    sub = subprocess.Popen([*_affinity(cpu), sys.executable, "-c", BARE_SUBSCRIBER,
                            "127.0.0.1", str(port), str(len(messages))],
                           stdout=subprocess.PIPE, text=True)
    assert sub.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    start = publish(port, messages, None if cpu is None else 1 - cpu)
    end = float(sub.stdout.readline())
    sub.wait(30)
    return len(messages) / (end - start)


def stored(db_url: str) -> int:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT (SELECT count(*) FROM readings) + "
                              "(SELECT count(*) FROM detections)")).scalar()
    engine.dispose()
    return int(n)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def end_to_end(port: int, db_url: str, tmp: Path, messages: list[tuple[str, bytes]],
               cpu: int | None, name: str, workers: int = 1,
               extra: list[str] | tuple[str, ...] = ("--no-rules",)
               ) -> tuple[float, int, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEGRID_")}
    env.update(ONEGRID_DB_URL=db_url, ONEGRID_VAR_DIR=str(tmp / "var"),
               ONEGRID_SEED_DEMO="never", ONEGRID_LOG_LEVEL="WARNING")
    proc = subprocess.Popen([*_affinity(cpu), sys.executable, str(ROOT / "app.py"), "ingest",
                             "--url", f"mqtt://127.0.0.1:{port}", "--name", name,
                             "--workers", str(workers), *extra], env=env)
    engine = create_engine(db_url)
    deadline = time.time() + 60
    while time.time() < deadline:
        with engine.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM ingest_workers WHERE name LIKE :n AND "
                                 "connected"), {"n": name + "%"}).scalar() >= workers:
                break
        time.sleep(0.2)
    before = stored(db_url)
    start = publish(port, messages, None if cpu is None else 1 - cpu)
    target = before + len(messages)
    last_change, last = time.time(), before
    while True:
        now_stored = stored(db_url)
        if now_stored >= target:
            end = time.time()
            break
        if now_stored != last:
            last, last_change = now_stored, time.time()
        elif time.time() - last_change > 30:
            end = last_change
            break
        time.sleep(0.05)
    rss = sum(peak_rss_mb(pid) for pid in [proc.pid, *_children(proc.pid)])
    proc.terminate()
    proc.wait(30)
    engine.dispose()
    got = stored(db_url) - before
    return got / (end - start), len(messages) - got, rss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=1,
                        help="ingest worker processes (shared subscription)")
    parser.add_argument("--rules", action="store_true",
                        help="run the case rules in the ingest (default: off, see bench/cases.py)")
    parser.add_argument("--pin", action="store_true",
                        help="also run with publisher and consumer on separate cores")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="onegrid-bench-"))
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    services = build_services(Settings(db_url=db_url, var_dir=tmp / "var",
                                       media_dir=tmp / "media", secret_key="bench"))
    prepare_database(services, seed=True)
    services.engine.dispose()
    messages = make_messages(db_url, args.messages)
    print(f"{len(messages):,} messages (80 % readings, 20 % detections), QoS 1, Mosquitto "
          f"with deploy/mosquitto/onegrid.conf settings, SQLite, {os.cpu_count()} cores, "
          f"{args.workers} ingest worker(s), case rules {'on' if args.rules else 'off'}")
    ok = True
    for label, cpu in [("publisher and consumer sharing both cores", None)] + (
            [("publisher on core 1, consumer on core 0", 0)] if args.pin else []):
        # A fresh broker per round: no session of an earlier round gets a share.
        broker = MosquittoBroker(tmp / f"mosquitto-{cpu}").start()
        try:
            bare = bare_rate(broker.port, messages, cpu)
            rate, lost, rss = end_to_end(broker.port, db_url, tmp, messages, cpu,
                                         f"bench-{cpu}", args.workers,
                                         extra=() if args.rules else ("--no-rules",))
            ratio = rate / bare
            print(f"\n{label}:")
            print(f"  bare subscriber (json.loads only): {bare:10,.0f} msg/s")
            print(f"  end-to-end (committed, located)  : {rate:10,.0f} msg/s")
            print(f"  ratio                            : {ratio:10.2f}   (target >= 0.70)")
            print(f"  lost                             : {lost:10,d}   (target 0)")
            print(f"  ingest peak RSS                  : {rss:10.0f} MB (target <= 300)")
            passed = ratio >= 0.7 and lost == 0 and rss <= 300
            ok &= passed
            print(f"  {'PASS' if passed else 'FAIL'}")
            messages = [(t, p.replace(b'"msg_id": "b', b'"msg_id": "c')) for t, p in messages]
        finally:
            broker.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
