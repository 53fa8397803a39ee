"""The one-time "mark rectified" link a shop without a login gets in its notice (``/s/r/<token>``).

GET shows a phone-sized page: the problem, the deadline and a photo upload form (CSRF-protected).
POST stores the photo (type and size checked by ``data.uploads``), marks the case rectified as
the shop (``data.shop_cases.mark_rectified``: accepted if need be, then feedback → handled, for
the inspector to verify) and uses the link up — in one transaction, so a refused photo or a
refused action leaves the link usable. A used, expired or unknown link gets a clear page.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

import flask

from api.auth import _csrf_token, check_csrf
from data import shop_reports
from data.cases import CaseError
from data.shop_cases import check_link, mark_rectified, shop_actor, use_link
from data.uploads import MAX_BYTES, UploadError, store_upload
from i18n import add_messages, current_lang, t
from services import get_services
from shops.notices import problem_of

bp = flask.Blueprint("shop_links", __name__)
NOTE_MAX = 500

add_messages({
    "shop_link.title": {"zh-CN": "整改反馈", "en": "Report the fix"},
    "shop_link.case": {"zh-CN": "案件编号", "en": "Case"},
    "shop_link.problem": {"zh-CN": "问题", "en": "Problem"},
    "shop_link.deadline": {"zh-CN": "整改期限", "en": "Deadline"},
    "shop_link.details": {"zh-CN": "情况说明", "en": "Details"},
    "shop_link.photo": {"zh-CN": "整改后现场照片（必填，最多 3 张）",
                        "en": "Photo of the result (required, up to 3)"},
    "shop_link.note": {"zh-CN": "整改说明（选填）", "en": "What was done (optional)"},
    "shop_link.submit": {"zh-CN": "提交整改结果", "en": "Send: rectified"},
    "shop_link.unknown.title": {"zh-CN": "链接无效", "en": "Link not valid"},
    "shop_link.unknown.text": {"zh-CN": "未找到此链接，请使用通知中的完整链接。",
                               "en": "This link is not known. Use the whole link from the "
                                     "notice."},
    "shop_link.used.title": {"zh-CN": "链接已使用", "en": "Link already used"},
    "shop_link.used.text": {"zh-CN": "此链接已提交过整改结果，每个链接只能使用一次。"
                                     "如需再次反馈，请等待新的通知。",
                            "en": "The fix was already reported with this link; a link works "
                                  "once. Wait for a new notice to report again."},
    "shop_link.expired.title": {"zh-CN": "链接已过期", "en": "Link expired"},
    "shop_link.expired.text": {"zh-CN": "此链接已过期，请联系城管热线获取新的链接。",
                               "en": "This link has expired; call the hotline for a new one."},
    "shop_link.done.title": {"zh-CN": "无需反馈", "en": "Nothing to report"},
    "shop_link.done.text": {"zh-CN": "该问题目前不在待整改状态（可能已反馈或已结案）。",
                            "en": "This problem is not waiting for your fix (it was reported "
                                  "or closed already)."},
    "shop_link.thanks.title": {"zh-CN": "已提交", "en": "Sent"},
    "shop_link.thanks.text": {"zh-CN": "整改结果已提交，网格员将到现场核查。谢谢配合！",
                              "en": "Your fix was sent; an inspector will check it on site. "
                                    "Thank you!"},
    "shop_link.csrf": {"zh-CN": "页面已过期，请刷新后重新提交。",
                       "en": "The page expired; reload it and send again."},
    "shop_link.no_photo": {"zh-CN": "请至少上传一张整改后的照片。",
                           "en": "Attach at least one photo of the result."},
})

_CSS = ("body{font-family:system-ui,'PingFang SC','Noto Sans CJK SC','Microsoft YaHei',"
        "sans-serif;margin:0;background:#f4f6f8;color:#1d2733}"
        "main{max-width:480px;margin:0 auto;padding:16px}"
        "h1{font-size:1.3rem;margin:.2rem 0 1rem}"
        ".card{background:#fff;border-radius:10px;padding:14px;margin-bottom:14px;"
        "box-shadow:0 1px 3px rgba(0,0,0,.08)}"
        "dt{color:#5b6876;font-size:.85rem}dd{margin:0 0 .6rem;font-size:1.05rem}"
        "label{display:block;margin:.6rem 0 .3rem;font-weight:600}"
        "input[type=file],textarea{width:100%;box-sizing:border-box;font-size:1rem}"
        "textarea{min-height:5rem;padding:8px;border:1px solid #c5ccd3;border-radius:6px}"
        "button{width:100%;min-height:52px;font-size:1.1rem;margin-top:1rem;border:0;"
        "border-radius:8px;background:#1565c0;color:#fff}"
        ".err{background:#fdecea;color:#8a1c12;padding:10px;border-radius:6px}"
        ".deadline{color:#b3261e;font-weight:700}")


def _document(title: str, body: str, lang: str) -> str:
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="robots" content="noindex">'
            f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
            f"<body><main>{body}</main></body></html>")


def _message(key: str, status: int) -> flask.Response:
    lang = current_lang()
    body = (f'<h1 id="shop-link-message">{escape(t(key + ".title", lang))}</h1>'
            f'<div class="card"><p>{escape(t(key + ".text", lang))}</p></div>')
    response = flask.Response(_document(t(key + ".title", lang), body, lang), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _when(at: datetime | None, tz: Any) -> str:
    return f"{at.astimezone(tz):%Y-%m-%d %H:%M}" if at is not None else "—"


def _form_page(token: str, check: Any, error: str | None = None,
               status: int = 200) -> flask.Response:
    lang = current_lang()
    case, shop = check.case, check.shop
    tz = get_services().cases.calendar.tz
    _key, name, name_en = problem_of(case.category_code, case.title)
    due = case.deadline_at if case.step == "handle" else case.handle_deadline_at
    details = (f"<dt>{escape(t('shop_link.details', lang))}</dt>"
               f"<dd>{escape(case.description)}</dd>"
               if case.description and case.source not in ("camera", "sensor") else "")
    alert = f'<p class="err" id="shop-link-error" role="alert">{escape(error)}</p>' \
        if error else ""
    body = f"""<h1>{escape(t('shop_link.title', lang))}</h1>
<div class="card"><dl>
<dt>{escape(shop.name)}</dt><dd>{escape(shop.address or '')}</dd>
<dt>{escape(t('shop_link.case', lang))}</dt><dd>{escape(case.code)}</dd>
<dt>{escape(t('shop_link.problem', lang))}</dt>
<dd id="shop-link-problem">{escape(name if lang == 'zh-CN' else name_en)}</dd>
<dt>{escape(t('shop_link.deadline', lang))}</dt>
<dd class="deadline">{escape(_when(due, tz))}</dd>{details}
</dl></div>
{alert}
<form class="card" method="post" enctype="multipart/form-data" action="/s/r/{escape(token)}">
<input type="hidden" name="csrf" value="{escape(_csrf_token())}">
<label for="shop-link-photo">{escape(t('shop_link.photo', lang))}</label>
<input id="shop-link-photo" name="photo" type="file" accept="image/jpeg,image/png,image/webp"
 capture="environment" multiple required>
<label for="shop-link-note">{escape(t('shop_link.note', lang))}</label>
<textarea id="shop-link-note" name="note" maxlength="{NOTE_MAX}"></textarea>
<button id="shop-link-submit" type="submit">{escape(t('shop_link.submit', lang))}</button>
</form>"""
    response = flask.Response(_document(t("shop_link.title", lang), body, lang), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


_STATUS = {"unknown": 404, "used": 410, "expired": 410, "done": 409}


@bp.route("/s/r/<token>", methods=["GET"])
def show(token: str) -> flask.Response:
    with get_services().session() as session:
        check = check_link(session, token)
        if check.state != "ok":
            return _message(f"shop_link.{check.state}", _STATUS[check.state])
        return _form_page(token, check)


@bp.route("/s/r/<token>", methods=["POST"])
def submit(token: str) -> flask.Response:
    services = get_services()
    lang = current_lang()
    files = [f for f in flask.request.files.getlist("photo") if f and f.filename][
        :shop_reports.MAX_PHOTOS]
    note = (flask.request.form.get("note") or "").strip()[:NOTE_MAX]
    try:
        with services.transaction() as session:
            check = check_link(session, token, lock=True)
            if check.state != "ok":
                return _message(f"shop_link.{check.state}", _STATUS[check.state])
            if not check_csrf():
                return _form_page(token, check, t("shop_link.csrf", lang), 400)
            if not files:
                return _form_page(token, check, t("shop_link.no_photo", lang), 400)
            shas = []
            for storage in files:
                data = storage.stream.read(MAX_BYTES + 1)
                stored = store_upload(session, services.settings.media_dir, data,
                                      uploaded_by=None, original_name=storage.filename)
                shas.append(stored.sha256)
            if not use_link(session, check.link):
                return _message("shop_link.used", 410)
            mark_rectified(session, services.cases, check.case, shop_actor(check.shop.id),
                           shas, note or None, origin="shop_link")
    except UploadError as exc:
        return _error_page(token, exc.message_zh if lang == "zh-CN" else exc.message)
    except CaseError as exc:
        return _error_page(token, exc.message_zh if lang == "zh-CN" else exc.message)
    return _message("shop_link.thanks", 200)


def _error_page(token: str, message: str) -> flask.Response:
    """The form again with what was wrong (nothing was changed; the link still works)."""
    with get_services().session() as session:
        check = check_link(session, token)
        if check.state != "ok":
            return _message(f"shop_link.{check.state}", _STATUS[check.state])
        return _form_page(token, check, message, 400)
