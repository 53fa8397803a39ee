"""Problems reported at a shop's front from its QR page (门前三包): by a citizen or an inspector.

Both open an ordinary case about the shop (``cases.shop_id``) at the shop's position with the
problem's event code (``shops.problems.SHOP_PROBLEMS``):

* a citizen's report waits in the command desk's registration queue (``reported``, not
  auto-dispatched): someone looks at it before it counts against the shop;
* an inspector's (or command staff's) report is registered and dispatched at once with its
  deadline (``auto=True``), since the inspector stood in front of the shop.

Photos are checked in full before any is stored, so a bad one stores nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.workflow import Actor
from data.cases import CaseConfig, report_case
from data.models import Case, Shop
from data.uploads import UploadError, inspect_image, store_upload
from shops.problems import PROBLEMS_BY_KEY, ShopProblem

NOTE_MAX = 500
MAX_PHOTOS = 3
CITIZEN = Actor("citizen")


class ReportError(ValueError):
    """A report that is refused; nothing was stored."""

    def __init__(self, code: str, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.code, self.message, self.message_zh = code, message, message_zh


@dataclass(frozen=True)
class Upload:
    """A file as the form sent it."""

    data: bytes
    filename: str | None = None


def parse_problem(key: str | None) -> ShopProblem:
    found = PROBLEMS_BY_KEY.get((key or "").strip())
    if found is None:
        raise ReportError("bad_problem", "choose the kind of problem from the list",
                          "请从列表中选择问题类型")
    return found


def clean_note(note: str | None, *, required: bool = False) -> str | None:
    text = "".join(c for c in (note or "") if c in "\n\t" or c.isprintable()).strip()
    if len(text) > NOTE_MAX:
        raise ReportError("note_too_long", f"the description has {len(text)} characters; at "
                          f"most {NOTE_MAX} — shorten it",
                          f"问题描述 {len(text)} 字，最多 {NOTE_MAX} 字，请删减后再提交")
    if required and not text:
        raise ReportError("note_missing", "describe the problem in a few words",
                          "请简要描述问题")
    return text or None


def check_photos(uploads: Sequence[Upload], *, least: int, most: int,
                 missing: tuple[str, str] | None = None) -> None:
    """``least``–``most`` photos, each a whole JPEG/PNG/WebP within the limits, checked before
    any is stored; ``missing`` is the (en, zh) message for too few. Raises ReportError."""
    files = [u for u in uploads if u.data]
    if len(files) < least:
        en, zh = missing or (f"add {'a photo' if least == 1 else f'{least} photos'}"
                             " of the problem", "请拍摄或选择问题照片")
        raise ReportError("photo_missing", en, zh)
    if len(files) > most:
        raise ReportError("too_many_photos", f"at most {most} photos; leave some out",
                          f"最多上传 {most} 张照片，请删减")
    for u in files:
        try:
            inspect_image(u.data)
        except UploadError as exc:
            raise ReportError(exc.code, exc.message, exc.message_zh) from None


def store_photos(session: Session, media_dir: Path, uploads: Sequence[Upload],
                 user_id: int | None) -> list[dict[str, str]]:
    """Store checked photos (see :func:`check_photos`): their sha256 and mime."""
    stored = [store_upload(session, media_dir, u.data, uploaded_by=user_id,
                           original_name=u.filename) for u in uploads if u.data]
    return [{"sha256": s.sha256, "mime": s.mime} for s in stored]


def _title(shop: Shop, problem: ShopProblem) -> str:
    return f"{problem.name}（{shop.name}）"[:200]


def report_by_citizen(session: Session, cfg: CaseConfig, media_dir: Path, shop: Shop, *,
                      problem_key: str | None, note: str | None, photo: Upload,
                      origin: str = "qr-page") -> Case:
    """A citizen's report from the public page: one photo required; the case waits for the
    command desk to register it (not dispatched)."""
    problem = parse_problem(problem_key)
    text = clean_note(note)
    check_photos([photo], least=1, most=1)
    files = store_photos(session, media_dir, [photo], None)
    return report_case(session, cfg, kind="event", code=problem.event_code, actor=CITIZEN,
                       source="citizen", lon=shop.geom.x, lat=shop.geom.y, shop_id=shop.id,
                       title=_title(shop, problem), description=text, address=shop.address,
                       attachments=files, data={"shop_problem": problem.key}, origin=origin,
                       auto=False)


def report_by_inspector(session: Session, cfg: CaseConfig, media_dir: Path, shop: Shop, *,
                        actor: Actor, problem_key: str | None, note: str | None,
                        photos: Sequence[Upload], origin: str = "qr-scan") -> Case:
    """An inspection at the shop front (扫码巡查): 1–3 photos; the case is registered and
    dispatched at once with its deadline."""
    problem = parse_problem(problem_key)
    text = clean_note(note)
    check_photos(photos, least=1, most=MAX_PHOTOS)
    files = store_photos(session, media_dir, photos, actor.user_id)
    return report_case(session, cfg, kind="event", code=problem.event_code, actor=actor,
                       source="inspector", lon=shop.geom.x, lat=shop.geom.y, shop_id=shop.id,
                       title=_title(shop, problem), description=text, address=shop.address,
                       attachments=files, data={"shop_problem": problem.key}, origin=origin,
                       auto=True)


def case_of_shop(session: Session, shop_id: int, case_id: int) -> Case | None:
    """A case if it is about this shop (for the page's "case opened" banner)."""
    return session.scalar(select(Case).where(Case.id == case_id, Case.shop_id == shop_id))
