"""Downloads of reports: the scorecards as XLSX and PDF (``/exports/...``).

``GET /exports/scorecards.xlsx`` and ``GET /exports/scorecards.pdf`` take

- ``month=YYYY-MM``, or ``start=YYYY-MM-DD&end=YYYY-MM-DD`` (whole days in the city's time
  zone, both included, at most 366 days); default: the last full month;
- ``by``: a comma-separated list of groupings (``city``, ``district``, ``street``,
  ``community``, ``grid``, ``department``, ``inspector``) or ``all``; default every grouping
  for the workbook (a sheet each), ``district`` for the PDF.

Roles leader, command and admin (checked here on the server; others get 403). A bad parameter
gets 400 and ``{"error": {"code", "message", "message_zh"}}``; a machine without a CJK font
for the PDF gets 503 naming the Debian package to install.

``GET /exports/plaques.pdf?street=CODE``: the street's responsibility plaques (门前三包责任牌,
A5, one a page, each shop's QR code); roles admin and command; 404 for an unknown street or
one without active shops.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import quote

import flask

from api.auth import current_principal
from data.scorecards import scorecard
from data.shop_registry import StreetNotFoundError, plaques_for_street
from i18n import current_lang
from reports.pdf import FontMissingError, build_pdf
from reports.plaques import build_plaques
from reports.scorecard import GROUPINGS, PeriodError, parse_groupings, parse_period
from reports.xlsx import build_xlsx
from services import get_services

bp = flask.Blueprint("exports", __name__)

EXPORT_ROLES = ("leader", "command", "admin")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_DEFAULT_BY = ("district",)


def _error(status: int, code: str, message: str, message_zh: str) -> flask.Response:
    response = flask.jsonify({"error": {"code": code, "message": message,
                                        "message_zh": message_zh}})
    response.status_code = status
    return response


def _roles(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        who = current_principal()
        if who is None:
            return _error(401, "unauthenticated", "sign in first", "请先登录")
        if who.role not in EXPORT_ROLES:
            return _error(403, "forbidden", f"role {who.role!r} may not export scorecards",
                          "您的角色无权导出考核评价")
        return fn(*args, **kwargs)

    return wrapper


def _card(default_by: tuple[str, ...]) -> Any:
    """The scorecard the query string asks for (raises PeriodError for bad parameters)."""
    services = get_services()
    tz = services.cases.calendar.tz
    args = flask.request.args
    now = datetime.now(tz)
    period = parse_period(start=args.get("start"), end=args.get("end"),
                          month=args.get("month"), today=now.date())
    groupings = parse_groupings(args.get("by"), default_by)
    with services.session() as session:
        return scorecard(session, period=period, tz=tz, groupings=groupings, generated_at=now,
                         lang=current_lang())


def _download(body: bytes, mime: str, card: Any, ext: str) -> flask.Response:
    period = card.period
    stem = (f"scorecards-{period.month}" if period.is_month
            else f"scorecards-{period.first.isoformat()}-{period.last.isoformat()}")
    zh = f"考核评价-{period.label('zh-CN').replace(' ', '')}.{ext}"
    response = flask.Response(body, mimetype=mime)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{stem}.{ext}\"; filename*=UTF-8''{quote(zh)}")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/exports/scorecards.xlsx")
@_roles
def scorecards_xlsx() -> flask.Response:
    """The scorecard workbook: a sheet per grouping, frozen headers, the formulas sheet."""
    try:
        card = _card(GROUPINGS)
    except PeriodError as exc:
        return _error(400, exc.code, exc.message, exc.message_zh)
    return _download(build_xlsx(card), XLSX_MIME, card, "xlsx")


@bp.get("/exports/scorecards.pdf")
@_roles
def scorecards_pdf() -> flask.Response:
    """The scorecard as an A4 landscape PDF with an embedded CJK font."""
    try:
        card = _card(PDF_DEFAULT_BY)
    except PeriodError as exc:
        return _error(400, exc.code, exc.message, exc.message_zh)
    try:
        body = build_pdf(card)
    except FontMissingError as exc:
        return _error(503, "font_missing", str(exc),
                      f"服务器上没有可嵌入 PDF 的 TrueType 中文字体，请安装 Debian 软件包 "
                      f"{exc.package}（apt-get install {exc.package}）")
    return _download(body, "application/pdf", card, "pdf")


PLAQUE_ROLES = ("admin", "command")


@bp.get("/exports/plaques.pdf")
def plaques_pdf() -> flask.Response:
    """A street's responsibility plaques as a print-ready PDF (admin and command only)."""
    who = current_principal()
    if who is None:
        return _error(401, "unauthenticated", "sign in first", "请先登录")
    if who.role not in PLAQUE_ROLES:
        return _error(403, "forbidden", f"role {who.role!r} may not print plaques",
                      "您的角色无权打印门前三包责任牌")
    street = (flask.request.args.get("street") or "").strip()
    if not street.isdigit() or len(street) != 9:
        return _error(400, "bad_street", "give street=CODE, a street's 9-digit code",
                      "请用 street= 给出 9 位街道编码")
    services = get_services()
    try:
        with services.session() as session:
            sheet = plaques_for_street(session, street)
    except StreetNotFoundError as exc:
        return _error(404, "unknown_street", str(exc), exc.zh)
    if not sheet.plaques:
        return _error(404, "no_shops", f"street {street} has no active shops",
                      f"街道 {street} 没有在册商户")
    try:
        body = build_plaques(sheet, public_url=services.settings.public_url,
                             hotline=services.settings.hotline)
    except FontMissingError as exc:
        return _error(503, "font_missing", str(exc),
                      f"服务器上没有可嵌入 PDF 的 TrueType 中文字体，请安装 Debian 软件包 "
                      f"{exc.package}（apt-get install {exc.package}）")
    response = flask.Response(body, mimetype="application/pdf")
    zh = f"门前三包责任牌-{sheet.street_name}.pdf"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"plaques-{street}.pdf\"; filename*=UTF-8''{quote(zh)}")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Plaque-Count"] = str(len(sheet.plaques))
    return response
