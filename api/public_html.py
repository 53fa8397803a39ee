"""HTML of a shop's public QR page (``/s/<token>``): server-rendered, phone-sized, no script.

Built for a phone on a weak connection: one small document with inline CSS, the zone drawn as
inline SVG (no map tiles), photos as lazy thumbnails, the star rating as plain radio buttons.
Every value from the database or the visitor goes through :func:`html.escape`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

import shapely

from cases.workflow import STATE_LABELS
from data.shop_views import CaseLine, Photo, ShopPage
from i18n import add_messages, t
from shops.problems import DUTIES, PROBLEMS_BY_EVENT, SHOP_PROBLEMS

add_messages({
    "shop_page.title": {"zh-CN": "门前三包责任公示", "en": "Shop-front responsibility"},
    "shop_page.bad_token.title": {"zh-CN": "二维码无效", "en": "Invalid QR code"},
    "shop_page.bad_token.text": {
        "zh-CN": "未找到该二维码对应的店铺，请确认扫描的是店铺门前的责任牌。",
        "en": "No shop has this QR code. Please scan the responsibility plaque at the shop."},
    "shop_page.revoked.title": {"zh-CN": "二维码已作废", "en": "QR code replaced"},
    "shop_page.revoked.text": {"zh-CN": "此二维码已作废，请扫描店铺新的二维码",
                               "en": "This QR code was replaced; please scan the shop's new "
                                     "QR code"},
    "shop_page.inactive.title": {"zh-CN": "店铺已停用", "en": "Shop no longer listed"},
    "shop_page.inactive.text": {
        "zh-CN": "该店铺已停业或注销，此责任牌不再使用。如发现问题请拨打热线",
        "en": "This shop has closed or been removed; the plaque is no longer in use. To "
              "report a problem, call the hotline"},
    "shop_page.too_many.title": {"zh-CN": "访问过于频繁", "en": "Too many requests"},
    "shop_page.duties": {"zh-CN": "门前三包责任", "en": "Shop-front duties"},
    "shop_page.zone": {"zh-CN": "责任区", "en": "Responsibility zone"},
    "shop_page.zone_none": {"zh-CN": "责任区未划定（按店门前区域）",
                            "en": "No zone drawn (the stretch in front of the door)"},
    "shop_page.shop": {"zh-CN": "店铺", "en": "Shop"},
    "shop_page.score": {"zh-CN": "月度评分", "en": "Monthly score"},
    "shop_page.not_scored": {"zh-CN": "暂未评分", "en": "Not scored yet"},
    "shop_page.points": {"zh-CN": "分", "en": "points"},
    "shop_page.rank": {"zh-CN": "街道排名", "en": "Rank in street"},
    "shop_page.list.red": {"zh-CN": "红榜", "en": "Red list (commended)"},
    "shop_page.list.black": {"zh-CN": "黑榜", "en": "Black list"},
    "shop_page.open": {"zh-CN": "待整改问题", "en": "Open problems"},
    "shop_page.open_none": {"zh-CN": "目前没有待整改的问题", "en": "No open problems"},
    "shop_page.fixed": {"zh-CN": "近期整改情况", "en": "Recently fixed"},
    "shop_page.fixed_none": {"zh-CN": "近 90 天没有已整改的问题",
                             "en": "Nothing fixed in the last 90 days"},
    "shop_page.deadline": {"zh-CN": "整改期限", "en": "Deadline"},
    "shop_page.reported_at": {"zh-CN": "发现时间", "en": "Found"},
    "shop_page.closed_at": {"zh-CN": "结案时间", "en": "Closed"},
    "shop_page.before": {"zh-CN": "整改前", "en": "Before"},
    "shop_page.after": {"zh-CN": "整改后", "en": "After"},
    "shop_page.how_fixed": {"zh-CN": "整改说明", "en": "How it was fixed"},
    "shop_page.ratings": {"zh-CN": "市民评价", "en": "Citizens' ratings"},
    "shop_page.ratings_none": {"zh-CN": "近 90 天暂无评价", "en": "No ratings in 90 days"},
    "shop_page.ratings_summary": {"zh-CN": "近 90 天 {n} 条评价，平均 {mean} 星",
                                  "en": "{n} ratings in 90 days, {mean} stars on average"},
    "shop_page.rate": {"zh-CN": "为店铺评分", "en": "Rate this shop"},
    "shop_page.stars": {"zh-CN": "星级（1–5）", "en": "Stars (1–5)"},
    "shop_page.comment": {"zh-CN": "评价（选填，最多 {n} 字）",
                          "en": "Comment (optional, at most {n} characters)"},
    "shop_page.rate_submit": {"zh-CN": "提交评价", "en": "Send rating"},
    "shop_page.rate_thanks": {"zh-CN": "感谢您的评价！", "en": "Thank you for your rating!"},
    "shop_page.report": {"zh-CN": "反映问题", "en": "Report a problem"},
    "shop_page.problem": {"zh-CN": "问题类型", "en": "Kind of problem"},
    "shop_page.choose": {"zh-CN": "请选择", "en": "Choose"},
    "shop_page.note": {"zh-CN": "问题描述（最多 {n} 字）", "en": "Description (at most {n} "
                                                                "characters)"},
    "shop_page.photo": {"zh-CN": "现场照片（JPEG/PNG/WebP，不超过 10 MB）",
                        "en": "Photo (JPEG/PNG/WebP, at most 10 MB)"},
    "shop_page.photos": {"zh-CN": "现场照片（1–3 张）", "en": "Photos (1–3)"},
    "shop_page.report_submit": {"zh-CN": "提交问题", "en": "Send report"},
    "shop_page.report_thanks": {
        "zh-CN": "已收到您的反映，指挥中心核实后处理。编号：{code}",
        "en": "Thank you: the command center will check your report. Reference: {code}"},
    "shop_page.inspect": {"zh-CN": "巡查登记", "en": "Inspection"},
    "shop_page.inspect_submit": {"zh-CN": "登记并派遣", "en": "Record and dispatch"},
    "shop_page.inspect_done": {"zh-CN": "已立案派遣：案件 {code}，状态 {status}，期限 {deadline}",
                               "en": "Case {code} opened: {status}, deadline {deadline}"},
    "shop_page.history": {"zh-CN": "店铺案件记录", "en": "The shop's cases"},
    "shop_page.history_none": {"zh-CN": "暂无案件", "en": "No cases yet"},
    "shop_page.hotline": {"zh-CN": "城管热线", "en": "Hotline"},
    "shop_page.csrf": {"zh-CN": "页面已过期，请刷新后重新提交。",
                       "en": "The page expired; reload it and send again."},
    "shop_page.too_large": {"zh-CN": "上传内容过大（总计不超过 16 MB），请降低照片分辨率后重试。",
                            "en": "The upload is too large (16 MB in all); take the photos at "
                                  "a lower resolution."},
    "shop_page.not_allowed": {"zh-CN": "只有网格员或指挥中心人员可以登记巡查。",
                              "en": "Only inspectors and command staff record inspections."},
    "shop_page.no_deadline": {"zh-CN": "无", "en": "none"},
})

CSS = (
    "*{box-sizing:border-box}body{margin:0;font:16px/1.5 'Noto Sans CJK SC','PingFang SC',"
    "'Microsoft YaHei',sans-serif;color:#1d2733;background:#eef2f5}main{max-width:640px;"
    "margin:0 auto;padding:0 10px 24px}header{background:#0b5c8a;color:#fff;padding:12px 14px}"
    "header h1{font-size:1.3rem;margin:0}header p{margin:2px 0 0;font-size:.9rem;opacity:.9}"
    "header a{color:#fff;float:right;font-size:.9rem;padding:6px 0 6px 10px}"
    "section{background:#fff;border-radius:8px;margin:10px 0;padding:10px 12px}"
    "h2{font-size:1.05rem;margin:0 0 6px;color:#0b5c8a}ol,ul{margin:0;padding-left:1.2rem}"
    "svg{width:100%;height:auto;display:block;background:#f6f8f0;border-radius:6px}"
    ".m{color:#5b6773;font-size:.88rem}.big{font-size:1.6rem;font-weight:700}"
    ".case{border-top:1px solid #e3e7ea;padding:6px 0}.case:first-of-type{border:0}"
    ".ph{display:flex;gap:6px;flex-wrap:wrap;margin-top:4px}.ph figure{margin:0;width:48%}"
    ".ph img{width:100%;height:auto;border-radius:4px;background:#dde}"
    ".ph figcaption{font-size:.8rem;color:#5b6773}"
    "label{display:block;margin:8px 0 2px;font-weight:600}select,textarea,input[type=file]"
    "{width:100%;font:inherit;padding:8px;border:1px solid #b8c2cc;border-radius:6px;"
    "background:#fff;min-height:44px}textarea{min-height:80px}button{width:100%;"
    "min-height:48px;margin-top:10px;font:inherit;font-weight:700;color:#fff;background:"
    "#0b5c8a;border:0;border-radius:6px}.st{display:flex;flex-direction:row-reverse;"
    "justify-content:flex-end}.st input{position:absolute;opacity:0;width:1px;height:1px}"
    ".st label{font-size:2.3rem;line-height:1;color:#c4cad0;margin:0;padding:2px 5px;"
    "cursor:pointer}.st input:checked~label,.st label:hover,.st label:hover~label"
    "{color:#f0a020}.st input:focus-visible+label{outline:2px solid #0b5c8a}"
    ".ok,.err{padding:8px 10px;border-radius:6px;margin:6px 0}.ok{background:#e3f4e6;"
    "color:#185c2a}.err{background:#fde8e8;color:#8a1c1c}.staff{border:2px solid #0b5c8a}"
    "table{width:100%;border-collapse:collapse;font-size:.88rem}td{padding:4px 2px;"
    "border-top:1px solid #e3e7ea;vertical-align:top}footer{text-align:center;"
    "color:#5b6773;font-size:.88rem}.red{color:#b3261e}.grn{color:#185c2a}"
)


@dataclass
class PageState:
    """What one rendering of the page needs beyond the shop: the visitor and the forms."""

    token: str
    lang: str
    tz: ZoneInfo
    csrf: str
    hotline: str
    staff: bool = False
    errors: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)
    notices: Mapping[str, str] = field(default_factory=dict)
    #: The shop owner's part (``api.public_owner``), already HTML; "" for anyone else.
    owner: str = ""


def _t(key: str, lang: str, **kw: Any) -> str:
    text = t(key, lang)
    return escape(text.format(**kw) if kw else text)


def _when(dt: datetime | None, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M") if dt is not None else "—"


def document(title: str, body: str, lang: str) -> str:
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>"
            f"<body>{body}</body></html>")


def message_page(title: str, text: str, lang: str, *, token: str | None = None,
                 hotline: str | None = None) -> str:
    """A plain page for a bad, revoked or inactive code (or too many requests)."""
    other = "en" if lang == "zh-CN" else "zh-CN"
    switch = (f'<a href="/lang/{other}?next=/s/{escape(token)}">{escape(t("lang.switch", lang))}'
              "</a>" if token else "")
    tel = (f' <a href="tel:{escape(hotline)}">{escape(hotline)}</a>' if hotline else "")
    return document(title, f'<header>{switch}<h1>{escape(title)}</h1></header><main>'
                    f'<section id="shop-message"><p>{escape(text)}{tel}</p></section></main>',
                    lang)


# -- the zone map --------------------------------------------------------------------------------
_NICE_M = (2, 5, 10, 20, 50, 100, 200, 500)


def zone_svg(zone: Any, point: tuple[float, float], lang: str, *, width: int = 320,
             height: int = 180, min_extent_m: float = 30.0) -> str:
    """The shop's responsibility zone and door as a small inline SVG map (north up, local
    equirectangular projection, with a scale bar). No tiles: a few hundred bytes."""
    lon0, lat0 = point
    kx = 111_320.0 * math.cos(math.radians(lat0))  # metres per degree of longitude
    ky = 110_540.0
    rings: list[list[tuple[float, float]]] = []
    if isinstance(zone, shapely.Polygon) and not zone.is_empty:
        rings = [list(zone.exterior.coords)]
    pts = [(0.0, 0.0)] + [((x - lon0) * kx, (y - lat0) * ky) for r in rings for x, y in r]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    span = max(max(xs) - min(xs), (max(ys) - min(ys)) * width / height, min_extent_m) * 1.3
    scale = width / span  # px per metre

    def px(x_m: float, y_m: float) -> str:
        return f"{width / 2 + (x_m - cx) * scale:.1f},{height / 2 - (y_m - cy) * scale:.1f}"

    parts = [f'<svg id="shop-zone" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{_t("shop_page.zone", lang)}" xmlns="http://www.w3.org/2000/svg">']
    for ring in rings:
        path = " ".join(px((x - lon0) * kx, (y - lat0) * ky) for x, y in ring)
        parts.append(f'<polygon class="zone" points="{path}" fill="#5aa469" fill-opacity=".35" '
                     'stroke="#2e7d32" stroke-width="2"/>')
    door = px(0.0, 0.0).split(",")
    parts.append(f'<circle cx="{door[0]}" cy="{door[1]}" r="6" fill="#c62828" stroke="#fff" '
                 'stroke-width="2"/>')
    parts.append(f'<text x="{float(door[0]) + 9:.1f}" y="{float(door[1]) - 8:.1f}" '
                 f'font-size="12" fill="#8a1c1c">{_t("shop_page.shop", lang)}</text>')
    bar_m = max((m for m in _NICE_M if m * scale <= width / 4), default=_NICE_M[0])
    bar = bar_m * scale
    parts.append(f'<path d="M10 {height - 12}h{bar:.1f}" stroke="#333" stroke-width="3"/>'
                 f'<text x="10" y="{height - 18}" font-size="11" fill="#333">{bar_m} m</text>'
                 f'<text x="{width - 28}" y="18" font-size="13" fill="#333">N↑</text></svg>')
    return "".join(parts)


# -- pieces ------------------------------------------------------------------------------------
def _photo_url(state: PageState, photo: Photo, thumb: bool = True) -> str:
    return f"/s/{escape(state.token)}/photo/{photo.sha256}" + ("?thumb=1" if thumb else "")


def _figures(state: PageState, photos: Sequence[Photo], caption: str) -> str:
    return "".join(
        f'<figure><a href="{_photo_url(state, p, False)}"><img loading="lazy" alt="'
        f'{caption}" src="{_photo_url(state, p)}" width="160" height="120"></a>'
        f"<figcaption>{caption}</figcaption></figure>" for p in photos[:2])


def _problem_name(line: CaseLine, lang: str) -> str:
    found = PROBLEMS_BY_EVENT.get(line.category_code)
    if found is None:
        return line.title
    return found.name if lang == "zh-CN" else found.name_en


def _status(status: str, lang: str) -> str:
    zh, en = STATE_LABELS.get(status, (status, status))
    return zh if lang == "zh-CN" else en


def _open_cases(page: ShopPage, state: PageState) -> str:
    lang = state.lang
    if not page.open_cases:
        return f'<p class="m grn">{_t("shop_page.open_none", lang)}</p>'
    rows = []
    for c in page.open_cases:
        before = _figures(state, c.before, _t("shop_page.before", lang))
        rows.append(
            f'<div class="case"><b>{escape(_problem_name(c, lang))}</b> · '
            f'{escape(_status(c.status, lang))}<div class="m">'
            f'{_t("shop_page.reported_at", lang)} {_when(c.reported_at, state.tz)} · '
            f'{_t("shop_page.deadline", lang)} {_when(c.deadline_at, state.tz)}</div>'
            + (f'<div class="ph">{before}</div>' if before else "") + "</div>")
    return "".join(rows)


def _fixed(page: ShopPage, state: PageState) -> str:
    lang = state.lang
    if not page.fixed:
        return f'<p class="m">{_t("shop_page.fixed_none", lang)}</p>'
    rows = []
    for c in page.fixed:
        figures = (_figures(state, c.before, _t("shop_page.before", lang))
                   + _figures(state, c.after, _t("shop_page.after", lang)))
        note = (f'<div>{_t("shop_page.how_fixed", lang)}：{escape(c.fix_note)}</div>'
                if c.fix_note else "")
        rows.append(
            f'<div class="case"><b>{escape(_problem_name(c, lang))}</b>'
            f'<div class="m">{_t("shop_page.reported_at", lang)} '
            f'{_when(c.reported_at, state.tz)} · {_t("shop_page.closed_at", lang)} '
            f'{_when(c.closed_at, state.tz)}</div>{note}'
            + (f'<div class="ph">{figures}</div>' if figures else "") + "</div>")
    return "".join(rows)


def _score(page: ShopPage, lang: str) -> str:
    s = page.score
    if s is None:
        return f'<p id="shop-score" class="m">{_t("shop_page.not_scored", lang)}</p>'
    listed = (f' · <b class="{"grn" if s.listed == "red" else "red"}">'
              f'{_t("shop_page.list." + s.listed, lang)}</b>' if s.listed in ("red", "black")
              else "")
    rank = (f' · {_t("shop_page.rank", lang)} {s.rank_in_street}' if s.rank_in_street
            else "")
    return (f'<p id="shop-score"><span class="big">{s.score:.0f}</span> '
            f'{_t("shop_page.points", lang)} · {"★" * s.stars}{"☆" * max(0, 5 - s.stars)} '
            f'{escape(s.grade)}{listed}<br><span class="m">{escape(s.month)}{rank}</span></p>')


def _ratings(page: ShopPage, state: PageState) -> str:
    lang, r = state.lang, page.ratings
    if r.count == 0:
        head = f'<p class="m">{_t("shop_page.ratings_none", lang)}</p>'
    else:
        head = (f'<p>{_t("shop_page.ratings_summary", lang, n=r.count, mean=f"{r.mean:.1f}")}'
                "</p>")
    comments = "".join(f'<div class="case"><span class="m">{"★" * stars}</span> '
                       f'{escape(comment)}</div>' for stars, comment, _ in r.comments)
    return head + comments


def _alert(state: PageState, form: str) -> str:
    out = ""
    if form in state.notices:
        out += f'<p class="ok" role="status">{escape(state.notices[form])}</p>'
    if form in state.errors:
        out += f'<p class="err" role="alert">{escape(state.errors[form])}</p>'
    return out


def _problem_select(state: PageState, name_id: str) -> str:
    lang, chosen = state.lang, state.values.get("problem", "")
    options = "".join(
        f'<option value="{p.key}"{" selected" if p.key == chosen else ""}>'
        f'{escape(p.name if lang == "zh-CN" else p.name_en)}</option>' for p in SHOP_PROBLEMS)
    return (f'<label for="{name_id}">{_t("shop_page.problem", lang)}</label>'
            f'<select id="{name_id}" name="problem" required><option value="">'
            f'{_t("shop_page.choose", lang)}</option>{options}</select>')


def _rating_form(state: PageState, comment_max: int) -> str:
    lang = state.lang
    chosen = state.values.get("stars", "")
    stars = "".join(
        f'<input type="radio" id="rate-star-{n}" name="stars" value="{n}"'
        f'{" checked" if chosen == str(n) else ""}><label for="rate-star-{n}" '
        f'title="{n}">★</label>' for n in range(5, 0, -1))
    return (f'<form id="rate-form" method="post" action="/s/{escape(state.token)}/rate">'
            f'<input type="hidden" name="csrf" value="{escape(state.csrf)}">'
            f'<fieldset style="border:0;padding:0;margin:0"><legend><b>'
            f'{_t("shop_page.stars", lang)}</b></legend><div class="st">{stars}</div></fieldset>'
            f'<label for="rate-comment">{_t("shop_page.comment", lang, n=comment_max)}</label>'
            f'<textarea id="rate-comment" name="comment" maxlength="{comment_max}">'
            f'{escape(state.values.get("comment", ""))}</textarea>'
            f'<button id="rate-submit" type="submit">{_t("shop_page.rate_submit", lang)}'
            "</button></form>")


def _report_form(state: PageState, note_max: int) -> str:
    lang = state.lang
    return (f'<form id="report-form" method="post" action="/s/{escape(state.token)}/report" '
            'enctype="multipart/form-data">'
            f'<input type="hidden" name="csrf" value="{escape(state.csrf)}">'
            + _problem_select(state, "report-problem")
            + f'<label for="report-note">{_t("shop_page.note", lang, n=note_max)}</label>'
            f'<textarea id="report-note" name="note" maxlength="{note_max}">'
            f'{escape(state.values.get("note", ""))}</textarea>'
            f'<label for="report-photo">{_t("shop_page.photo", lang)}</label>'
            '<input id="report-photo" type="file" name="photo" accept="image/*" required>'
            f'<button id="report-submit" type="submit">{_t("shop_page.report_submit", lang)}'
            "</button></form>")


def _inspect_form(state: PageState, note_max: int) -> str:
    lang = state.lang
    return (f'<form id="inspect-form" method="post" action="/s/{escape(state.token)}/inspect" '
            'enctype="multipart/form-data">'
            f'<input type="hidden" name="csrf" value="{escape(state.csrf)}">'
            + _problem_select(state, "inspect-problem")
            + f'<label for="inspect-photos">{_t("shop_page.photos", lang)}</label>'
            '<input id="inspect-photos" type="file" name="photos" accept="image/*" multiple '
            'required>'
            f'<label for="inspect-note">{_t("shop_page.note", lang, n=note_max)}</label>'
            f'<textarea id="inspect-note" name="note" maxlength="{note_max}">'
            f'{escape(state.values.get("note", ""))}</textarea>'
            f'<button id="inspect-submit" type="submit">{_t("shop_page.inspect_submit", lang)}'
            "</button></form>")


def _history(page: ShopPage, state: PageState) -> str:
    lang = state.lang
    if not page.history:
        return f'<p class="m">{_t("shop_page.history_none", lang)}</p>'
    rows = "".join(
        f'<tr><td><a href="/cases/{c.id}">{escape(c.code)}</a></td>'
        f"<td>{escape(_problem_name(c, lang))}</td><td>{escape(_status(c.status, lang))}</td>"
        f"<td>{_when(c.reported_at, state.tz)}</td></tr>" for c in page.history)
    return f'<table id="shop-history">{rows}</table>'


def shop_page_html(page: ShopPage, state: PageState, *, comment_max: int,
                   note_max: int) -> str:
    """The whole page: staff part (inspection form and history) on top for inspectors and
    command staff, then what every visitor sees."""
    lang = state.lang
    other = "en" if lang == "zh-CN" else "zh-CN"
    place = " · ".join(escape(x) for x in (
        page.street_en if lang == "en" and page.street_en else page.street,
        page.community_en if lang == "en" and page.community_en else page.community,
        page.grid_name) if x)
    duties = "".join(f"<li>{escape(zh if lang == 'zh-CN' else en)}</li>" for zh, en in DUTIES)
    staff = ""
    if state.staff:
        staff = (f'<section id="shop-inspect" class="staff"><h2>{_t("shop_page.inspect", lang)}'
                 f"</h2>{_alert(state, 'inspect')}{_inspect_form(state, note_max)}</section>"
                 f'<section class="staff"><h2>{_t("shop_page.history", lang)}</h2>'
                 f"{_history(page, state)}</section>")
    zone_note = ("" if page.zone is not None
                 else f'<p class="m">{_t("shop_page.zone_none", lang)}</p>')
    body = (
        f'<header><a href="/lang/{other}?next=/s/{escape(state.token)}">'
        f'{escape(t("lang.switch", lang))}</a><h1 id="shop-name">{escape(page.name)}</h1>'
        f'<p>{escape(page.category or "")}{" · " if page.category else ""}'
        f'{escape(page.address or "")}</p></header><main>{state.owner}{staff}'
        f'<section id="shop-duties"><h2>{_t("shop_page.duties", lang)}</h2><ol>{duties}</ol>'
        f'</section><section><h2>{_t("shop_page.zone", lang)}</h2>'
        f'{zone_svg(page.zone, page.point, lang)}{zone_note}<p class="m">{place}</p></section>'
        f'<section><h2>{_t("shop_page.score", lang)}</h2>{_score(page, lang)}</section>'
        f'<section id="shop-open"><h2>{_t("shop_page.open", lang)}</h2>'
        f"{_open_cases(page, state)}</section>"
        f'<section id="shop-fixed"><h2>{_t("shop_page.fixed", lang)}</h2>'
        f"{_fixed(page, state)}</section>"
        f'<section id="rate"><h2>{_t("shop_page.ratings", lang)}</h2>{_ratings(page, state)}'
        f'<h2 style="margin-top:10px">{_t("shop_page.rate", lang)}</h2>{_alert(state, "rate")}'
        f"{_rating_form(state, comment_max)}</section>"
        f'<section id="report"><h2>{_t("shop_page.report", lang)}</h2>'
        f'{_alert(state, "report")}{_report_form(state, note_max)}</section>'
        f'<footer>{_t("shop_page.hotline", lang)} <a href="tel:{escape(state.hotline)}">'
        f"{escape(state.hotline)}</a> · {escape(page.code)}</footer></main>")
    return document(f"{page.name} · {t('shop_page.title', lang)}", body, lang)
