"""MQTT topics of the device contract (README, "Device contract (MQTT)")."""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "onegrid/v1/"
KINDS = ("readings", "detections", "status", "positions")
#: What OneGrid itself publishes under the prefix (shop notices, ``shops/notices.py``): the
#: ingest's ``onegrid/v1/+/+`` sees them too and passes them by.
OUTBOUND = ("notices",)
SUBSCRIPTION = "onegrid/v1/+/+"
SHARE_GROUP = "onegrid"
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")


def shared_subscription(group: str = SHARE_GROUP, topic: str = SUBSCRIPTION) -> str:
    """``$share/<group>/<topic>``: workers in one group split the stream between them."""
    return f"$share/{group}/{topic}"


def topic_for(kind: str, code: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    return f"{PREFIX}{kind}/{code}"


def is_outbound(topic: str) -> bool:
    """A topic OneGrid publishes to (not a device's): not ingested, not a dead letter."""
    return topic.startswith(PREFIX) and topic[len(PREFIX):].split("/", 1)[0] in OUTBOUND


@dataclass(frozen=True)
class Topic:
    kind: str
    code: str


def parse_topic(topic: str) -> Topic | str:
    """``Topic`` for a contract topic, else the reason (a string) a vendor can act on."""
    if not topic.startswith(PREFIX):
        return f"topic {topic[:120]!r} is not under {PREFIX}"
    parts = topic[len(PREFIX):].split("/")
    if len(parts) != 2:
        return (f"topic {topic[:120]!r}: expected {PREFIX}<kind>/<device code> "
                f"with kind one of {', '.join(KINDS)}")
    kind, code = parts
    if kind not in KINDS:
        return f"topic {topic[:120]!r}: kind {kind[:40]!r} unknown; use one of {', '.join(KINDS)}"
    if not _CODE.match(code):
        return (f"topic {topic[:120]!r}: device code {code[:60]!r} must be 1-40 letters, "
                "digits, '.', '_' or '-'")
    return Topic(kind, code)
