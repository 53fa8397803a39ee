"""The shop owner's part of a shop's QR page (商户, ``/s/<token>``).

When the visitor is signed in as a ``shop_owner`` who owns the shop (``Shop.owner_user_id``),
the page shows above its public part the shop's notices (newest first, unread marked; opening
the page marks them read) and, for each case waiting for the shop (dispatched or accepted), a
"已整改" form: 1–3 photos and a note, posted to ``POST /s/<token>/rectify`` which calls
``data.shop_cases.mark_rectified`` as that owner. Photos are checked before anything is
stored; a refused photo or action stores nothing and says what was wrong.

A shop owner's home (``/`` after signing in) is its shop's page: :func:`owner_home`.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

import flask

from api.auth import _csrf_token, check_csrf, current_principal
from api.public_html import _status, _t, _when
from data import shop_owner, shop_reports
from data.accounts import Principal
from data.cases import CaseError
from data.types import utcnow
from data.uploads import UploadError
from i18n import add_messages, current_lang, t
from services import get_services
from shops.notices import problem_of

bp = flask.Blueprint("public_owner", __name__)
OWNER_ROLE = "shop_owner"

add_messages({
    "shop_owner.title": {"zh-CN": "商户专区", "en": "For the shop owner"},
    "shop_owner.notices": {"zh-CN": "店铺通知", "en": "Notices to the shop"},
    "shop_owner.notices_none": {"zh-CN": "暂无通知", "en": "No notices"},
    "shop_owner.unread": {"zh-CN": "未读", "en": "Unread"},
    "shop_owner.waiting": {"zh-CN": "待整改案件", "en": "Cases waiting for your fix"},
    "shop_owner.waiting_none": {"zh-CN": "目前没有需要整改的案件",
                                "en": "Nothing waits for your fix"},
    "shop_owner.photos": {"zh-CN": "整改后现场照片（1–3 张，JPEG/PNG/WebP）",
                          "en": "Photos of the result (1–3, JPEG/PNG/WebP)"},
    "shop_owner.note": {"zh-CN": "整改说明（选填，最多 {n} 字）",
                        "en": "What was done (optional, at most {n} characters)"},
    "shop_owner.submit": {"zh-CN": "已整改", "en": "Rectified"},
    "shop_owner.done": {"zh-CN": "已提交整改：案件 {code}，等待网格员核查。",
                        "en": "Case {code} reported rectified; an inspector will check it."},
    "shop_owner.not_yours": {"zh-CN": "这不是您的店铺：只有本店商户可以提交整改。",
                             "en": "This is not your shop: only its owner reports fixes."},
    "shop_owner.photo_missing": {"zh-CN": "请上传至少一张整改后的现场照片。",
                                 "en": "Attach at least one photo of the result."},
})


# -- who ----------------------------------------------------------------------------------------
def owner_of(shop_id: int) -> Principal | None:
    """The signed-in visitor if it is a shop owner who owns shop ``shop_id``, else None."""
    who = current_principal()
    if who is None or who.role != OWNER_ROLE:
        return None
    with get_services().session() as session:
        return who if shop_owner.owns(session, shop_id, who.user_id) else None


def owner_home(user_id: int) -> str | None:
    """The home page of a shop owner: its shop's ``/s/<token>`` (None: it owns no shop)."""
    with get_services().session() as session:
        token = shop_owner.home_token(session, user_id)
    return f"/s/{token}" if token else None


# -- HTML ---------------------------------------------------------------------------------------
def _msg(error: Any, lang: str) -> str:
    return error.message_zh if lang == "zh-CN" else error.message


def _notices_html(view: shop_owner.OwnerView, lang: str, tz: Any) -> str:
    if not view.notices:
        return f'<p class="m">{_t("shop_owner.notices_none", lang)}</p>'
    rows = []
    for n in view.notices:
        text = n.text if lang == "zh-CN" or not n.text_en else n.text_en
        mark = (f'<b class="red unread-mark">{_t("shop_owner.unread", lang)}</b> '
                if n.unread else "")
        rows.append(f'<li class="case notice{" unread" if n.unread else ""}" '
                    f'data-notice="{n.id}" data-kind="{escape(n.kind)}">{mark}'
                    f'<span class="m">{_when(n.created_at, tz)}</span><div>{escape(text)}'
                    "</div></li>")
    return f'<ul id="shop-notices" style="list-style:none;padding:0">{"".join(rows)}</ul>'


def _case_html(case: shop_owner.WaitingCase, *, token: str, lang: str, tz: Any, csrf: str,
               errors: Mapping[str, str], values: Mapping[str, str]) -> str:
    _key, name, name_en = problem_of(case.category_code, case.title)
    mine = values.get("rectify_case") == str(case.id)
    error = (f'<p class="err" role="alert" id="rectify-error-{case.id}">'
             f'{escape(errors["rectify"])}</p>' if mine and "rectify" in errors else "")
    details = (f"<div>{escape(case.description)}</div>"
               if case.description and case.source not in ("camera", "sensor") else "")
    note_max = shop_reports.NOTE_MAX
    return (
        f'<div class="case" id="rectify-case-{case.id}"><b>'
        f'{escape(name if lang == "zh-CN" else name_en)}</b> · {escape(case.code)} · '
        f'{escape(_status(case.status, lang))}<div class="m">'
        f'{_t("shop_page.deadline", lang)} {_when(case.deadline_at, tz)}</div>{details}{error}'
        f'<form id="rectify-form-{case.id}" class="rectify-form" method="post" '
        f'action="/s/{escape(token)}/rectify" enctype="multipart/form-data">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<input type="hidden" name="case" value="{case.id}">'
        f'<label for="rectify-photos-{case.id}">{_t("shop_owner.photos", lang)}</label>'
        f'<input id="rectify-photos-{case.id}" type="file" name="photos" '
        'accept="image/jpeg,image/png,image/webp" multiple required>'
        f'<label for="rectify-note-{case.id}">{_t("shop_owner.note", lang, n=note_max)}'
        f'</label><textarea id="rectify-note-{case.id}" name="note" maxlength="{note_max}">'
        f'{escape(values.get("rectify_note", "") if mine else "")}</textarea>'
        f'<button id="rectify-submit-{case.id}" type="submit">'
        f'{_t("shop_owner.submit", lang)}</button></form></div>')


def owner_html(view: shop_owner.OwnerView, *, token: str, lang: str, tz: Any, csrf: str,
               errors: Mapping[str, str], values: Mapping[str, str],
               done: str | None = None) -> str:
    """The owner's section of the page: notices, then the cases waiting with their forms."""
    alert = f'<p class="ok" role="status">{escape(done)}</p>' if done else ""
    shown = {str(c.id) for c in view.waiting}
    if "rectify" in errors and values.get("rectify_case") not in shown:
        alert += f'<p class="err" role="alert">{escape(errors["rectify"])}</p>'
    cases = "".join(_case_html(c, token=token, lang=lang, tz=tz, csrf=csrf, errors=errors,
                               values=values) for c in view.waiting)
    if not cases:
        cases = f'<p class="m">{_t("shop_owner.waiting_none", lang)}</p>'
    return (f'<section id="shop-owner" class="staff"><a id="shop-owner-logout" href="/logout" '
            'style="float:right;padding:4px 0 12px 12px">'
            f'{escape(t("nav.logout", lang))}</a><h2>{_t("shop_owner.title", lang)} · '
            f'{_t("shop_owner.notices", lang)}</h2>{alert}{_notices_html(view, lang, tz)}'
            f'</section><section id="shop-rectify" class="staff">'
            f'<h2>{_t("shop_owner.waiting", lang)}</h2>{cases}</section>')


def owner_part(token: str, shop_id: int, errors: Mapping[str, str] | None = None,
               values: Mapping[str, str] | None = None) -> str:
    """The owner's section for this request ("" unless the visitor owns the shop). Marks the
    shop's notices read (they are shown unread this once)."""
    if owner_of(shop_id) is None:
        return ""
    services = get_services()
    lang = current_lang()
    done = None
    with services.transaction() as session:
        view = shop_owner.owner_view(session, shop_id)
        shop_owner.mark_read(session, shop_id, utcnow())
        ref = flask.request.args.get("rectified", "")
        if ref.isdigit():
            case = shop_reports.case_of_shop(session, shop_id, int(ref))
            if case is not None:
                done = t("shop_owner.done", lang).format(code=case.code)
    return owner_html(view, token=token, lang=lang, tz=services.cases.calendar.tz,
                      csrf=_csrf_token(), errors=errors or {}, values=values or {}, done=done)


# -- the form -----------------------------------------------------------------------------------
@bp.route("/s/<token>/rectify", methods=["POST"])
def rectify(token: str) -> flask.Response:
    """The owner marks one of its shop's cases rectified with 1–3 photos and a note."""
    from api.public import _form, _lookup, _plain, _render, _upload

    found, refusal = _lookup(token)
    if refusal is not None:
        return refusal
    assert found.shop_id is not None
    shop_id = found.shop_id
    lang = current_lang()
    who = owner_of(shop_id)
    if who is None:
        return _plain(t("forbidden.title", lang), t("shop_owner.not_yours", lang), 403,
                      token=token)
    form = _form()
    if form is None:
        return _render(token, shop_id, status=413, errors={"rectify": t("shop_page.too_large")})
    raw_case = form.get("case", "")
    kept = {"rectify_case": raw_case, "rectify_note": form.get("note", "")}
    if not check_csrf():
        return _render(token, shop_id, status=400, values=kept,
                       errors={"rectify": t("shop_page.csrf")})
    uploads = [_upload(f) for f in flask.request.files.getlist("photos") if f and f.filename]
    uploads = [u for u in uploads if u.data]
    services = get_services()
    try:
        note = shop_reports.clean_note(form.get("note"))
        shop_reports.check_photos(uploads, least=1, most=shop_reports.MAX_PHOTOS, missing=(
            t("shop_owner.photo_missing", "en"), t("shop_owner.photo_missing", "zh-CN")))
        with services.transaction() as session:
            case_id = shop_owner.rectify(
                session, services.cases, services.settings.media_dir, shop_id=shop_id,
                user_id=who.user_id, case_ref=raw_case, uploads=uploads, note=note)
    except (shop_reports.ReportError, CaseError, UploadError) as exc:
        status = 403 if exc.code in ("not_yours", "not_your_shop") else 400
        return _render(token, shop_id, status=status, values=kept,
                       errors={"rectify": _msg(exc, lang)})
    return flask.redirect(f"/s/{token}?rectified={case_id}#shop-owner", 303)
