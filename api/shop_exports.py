"""Downloads of a published month of shop scores (门前三包): ``GET /exports/shop-scores.xlsx``
and ``GET /exports/shop-scores.pdf`` with ``month=YYYY-MM`` (default: the newest published).

Roles leader, command and admin (others get 403). A month that was never published gets 404
naming the months there are; a malformed one 400; no CJK font for the PDF 503 naming the
Debian package — always ``{"error": {"code", "message", "message_zh"}}``.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import quote

import flask

from api.exports import EXPORT_ROLES, XLSX_MIME, _error, _roles
from data.shop_rankings import published_months, shop_list, shop_rankings
from i18n import current_lang
from reports.pdf import FontMissingError
from reports.shop_scores import ShopMonthReport, build_shop_pdf, build_shop_xlsx
from services import get_services

bp = flask.Blueprint("shop_exports", __name__)
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
LIST_LIMIT = 200  # shops per list in the PDF (the workbook has every shop)


def _report(pdf: bool) -> ShopMonthReport | flask.Response:
    services = get_services()
    month = flask.request.args.get("month") or None
    if month is not None and not MONTH.match(month):
        return _error(400, "bad_month", f"month={month!r}: use YYYY-MM",
                      f"月份 {month} 格式应为 YYYY-MM")
    with services.session() as session:
        months = published_months(session)
        month = month or (months[0] if months else None)
        if month is None or month not in months:
            there = ", ".join(months) or "none"
            return _error(404, "not_published",
                          f"no shop scores published for {month or 'any month'} "
                          f"(published: {there})",
                          f"{month or ''} 门前三包评分尚未发布（已发布：{there}）")
        limit = LIST_LIMIT if pdf else None
        return ShopMonthReport(
            month=month, lang=current_lang(),
            generated_at=datetime.now(services.cases.calendar.tz),
            streets=shop_rankings(session, month, "street"),
            communities=shop_rankings(session, month, "community"),
            red=shop_list(session, month, listed="red", limit=limit),
            black=shop_list(session, month, listed="black", limit=limit),
            shops=[] if pdf else shop_list(session, month))


def _send(body: bytes, mime: str, month: str, ext: str) -> flask.Response:
    name = f"门前三包评分_{month}.{ext}"
    response = flask.Response(body, mimetype=mime)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=shop-scores-{month}.{ext}; filename*=UTF-8''{quote(name)}")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/exports/shop-scores.xlsx")
@_roles
def shop_scores_xlsx() -> flask.Response:
    report = _report(pdf=False)
    if isinstance(report, flask.Response):
        return report
    return _send(build_shop_xlsx(report), XLSX_MIME, report.month, "xlsx")


@bp.route("/exports/shop-scores.pdf")
@_roles
def shop_scores_pdf() -> flask.Response:
    report = _report(pdf=True)
    if isinstance(report, flask.Response):
        return report
    try:
        body = build_shop_pdf(report)
    except FontMissingError as exc:
        return _error(503, "font_missing", str(exc), str(exc))
    return _send(body, "application/pdf", report.month, "pdf")


__all__ = ["EXPORT_ROLES", "bp"]
