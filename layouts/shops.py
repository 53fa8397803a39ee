"""The shop registry for administrators (商户台账, ``/shops``): 门前三包, one shop one QR code.

Left: the registry — a searchable, paged table of shops (code, name, licence, address, street,
community and grid, owner, when the QR token was issued, active), filtered by street; each row
can have its QR code revoked and reissued (after a confirm step), and the new public URL is
shown. Right: the import of a registry file (CSV or XLSX, with a dry-run switch) and its
report — created, updated, unchanged, and every failed row with its line and reason — and the
responsibility plaques (责任牌) of each street as a print-ready PDF
(``/exports/plaques.pdf?street=CODE``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import Any
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from api.auth import current_principal
from data.shop_admin import ShopLine, ShopListPage, StreetCount
from data.shop_registry import ImportReport
from data.views import region_tree
from i18n import add_messages, current_lang, t
from layouts import _ids as ids
from layouts._components import ALL, notice, region_label
from layouts.case import local_time
from services import get_services
from shops.registry import COLUMNS

ROLES = ("admin", "command")
PER_PAGE = 20
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: Failed rows listed in the report (the rest counted: a 50,000-row file with a wrong column
#: must not send 50,000 lines to the browser).
MAX_FAILED_SHOWN = 200

add_messages({
    "nav.shops": {"zh-CN": "商户台账", "en": "Shops"},
    "shops.title": {"zh-CN": "门前三包商户台账", "en": "Shop-front registry"},
    "shops.subtitle": {"zh-CN": "一户一码：导入商户、重发二维码、打印责任牌",
                       "en": "One shop, one QR code: import shops, reissue codes, print plaques"},
    "shops.search": {"zh-CN": "搜索编号、店名、执照号、地址、负责人、电话",
                     "en": "Search code, name, licence, address, owner, phone"},
    "shops.street": {"zh-CN": "街道", "en": "Street"},
    "shops.street.all": {"zh-CN": "全部街道", "en": "All streets"},
    "shops.col.code": {"zh-CN": "编号", "en": "Code"},
    "shops.col.name": {"zh-CN": "店名", "en": "Name"},
    "shops.col.licence": {"zh-CN": "营业执照号", "en": "Licence no."},
    "shops.col.address": {"zh-CN": "地址", "en": "Address"},
    "shops.col.place": {"zh-CN": "街道 / 社区 / 网格", "en": "Street / community / grid"},
    "shops.col.owner": {"zh-CN": "负责人", "en": "Owner"},
    "shops.col.issued": {"zh-CN": "二维码签发", "en": "QR issued"},
    "shops.col.active": {"zh-CN": "状态", "en": "Status"},
    "shops.col.actions": {"zh-CN": "操作", "en": "Actions"},
    "shops.active": {"zh-CN": "在册", "en": "Active"},
    "shops.inactive": {"zh-CN": "停用", "en": "Inactive"},
    "shops.revoke": {"zh-CN": "重发二维码", "en": "Reissue QR"},
    "shops.empty": {"zh-CN": "没有符合条件的商户。", "en": "No shop matches."},
    "shops.pager": {"zh-CN": "第 {page} / {pages} 页，共 {total} 户",
                    "en": "Page {page} of {pages}, {total} shops"},
    "shops.prev": {"zh-CN": "上一页", "en": "Previous"},
    "shops.next": {"zh-CN": "下一页", "en": "Next"},
    "shops.import": {"zh-CN": "导入商户台账", "en": "Import the registry"},
    "shops.drop": {"zh-CN": "拖入或点击选择 CSV / XLSX 文件",
                   "en": "Drop or click to choose a CSV / XLSX file"},
    "shops.dry_run": {"zh-CN": "试导入（只检查，不写入）",
                      "en": "Dry run (check only, write nothing)"},
    "shops.columns": {"zh-CN": "可用列名：", "en": "Columns understood: "},
    "shops.columns.rule": {
        "zh-CN": "每行需有店名，以及经纬度、责任区（WKT/GeoJSON 面）或地址（按道路门牌估算位置，"
                 "请在地图上核对）；无责任区时按门前进深画出。同一营业执照号或编号再次导入即更新，不会重复。",
        "en": "Each row needs a name and a location, a zone (WKT/GeoJSON polygon) or an address "
              "(placed approximately from the road and house number: check it on the map); "
              "without a zone one is drawn from the frontage depth. A re-run with the same "
              "licence or code updates rather than duplicates."},
    "shops.report.file": {"zh-CN": "文件", "en": "File"},
    "shops.report.dry": {"zh-CN": "试导入结果（未写入）", "en": "Dry run (nothing written)"},
    "shops.report.done": {"zh-CN": "导入完成", "en": "Imported"},
    "shops.report.created": {"zh-CN": "新增", "en": "Created"},
    "shops.report.updated": {"zh-CN": "更新", "en": "Updated"},
    "shops.report.unchanged": {"zh-CN": "未变", "en": "Unchanged"},
    "shops.report.failed": {"zh-CN": "失败行", "en": "Failed rows"},
    "shops.report.line": {"zh-CN": "行", "en": "Line"},
    "shops.report.column": {"zh-CN": "列", "en": "Column"},
    "shops.report.reason": {"zh-CN": "原因", "en": "Reason"},
    "shops.report.more": {"zh-CN": "另有 {n} 个失败行未列出。",
                          "en": "{n} more failed rows not listed."},
    "shops.report.ignored": {"zh-CN": "未识别的列（已忽略）：", "en": "Columns ignored: "},
    "shops.report.none_failed": {"zh-CN": "所有行均通过检查。", "en": "Every row passed."},
    "shops.file_error": {"zh-CN": "文件无法导入：", "en": "The file cannot be imported: "},
    "shops.too_big": {"zh-CN": "文件超过 {mb} MB，请分批导入。",
                      "en": "The file is larger than {mb} MB: import it in parts."},
    "shops.bad_upload": {"zh-CN": "上传内容无法读取，请重新选择文件。",
                         "en": "The upload could not be read; choose the file again."},
    "shops.plaques": {"zh-CN": "打印责任牌", "en": "Print plaques"},
    "shops.plaques.help": {"zh-CN": "每个街道在册商户的责任牌（A5，一页一户，含二维码）。",
                           "en": "The plaques of each street's active shops (A5, one a page, "
                                 "with the QR code)."},
    "shops.plaques.pdf": {"zh-CN": "责任牌 PDF", "en": "Plaques PDF"},
    "shops.plaques.count": {"zh-CN": "{n} 户", "en": "{n} shops"},
    "shops.confirm.title": {"zh-CN": "重发二维码？", "en": "Reissue the QR code?"},
    "shops.confirm.text": {
        "zh-CN": "将作废 {name}（{code}）当前的二维码并签发新码。已张贴的旧责任牌扫码后会提示"
                 "“此码已更换”，需要重新打印责任牌。",
        "en": "The current QR code of {name} ({code}) will be revoked and a new one issued. "
              "Scanning the old plaque will say the code was replaced: print a new plaque."},
    "shops.confirm.ok": {"zh-CN": "确认作废并重发", "en": "Revoke and reissue"},
    "shops.confirm.cancel": {"zh-CN": "取消", "en": "Cancel"},
    "shops.revoked": {"zh-CN": "已为 {name}（{code}）签发新二维码，旧码已作废。新地址：",
                      "en": "New QR code issued for {name} ({code}); the old one is revoked. "
                            "New address: "},
    "shops.no_shop": {"zh-CN": "没有编号为 {code} 的商户。", "en": "No shop with code {code}."},
})

dash.register_page(
    __name__,
    path="/shops",
    name="shops",
    roles=ROLES,
    nav_key="nav.shops",
    title=lambda **_: f"{t('shops.title')} · {t('app.short')}",
)


# -- builders (pure: read-model values in, components out) -------------------------------------
def plaques_href(street: str) -> str:
    return "/exports/plaques.pdf?" + urlencode({"street": street})


def _place(line: ShopLine) -> html.Div:
    return html.Div([html.Div(line.street_name or line.street_code or "—"),
                     html.Div(line.community_name or line.community_code or "—",
                              className="og-shops-sub"),
                     html.Div(line.grid_code or "—", className="og-shops-sub og-shops-mono")])


def shop_table(page: ShopListPage, lang: str, tz: tzinfo) -> Any:
    """The registry table of one page; each row has its revoke button."""
    if not page.lines:
        return html.Div(t("shops.empty", lang), className="og-muted p-3")
    keys = ("code", "name", "licence", "address", "place", "owner", "issued", "active",
            "actions")
    head = html.Thead(html.Tr([html.Th(t(f"shops.col.{k}", lang)) for k in keys]))
    rows = []
    for line in page.lines:
        rows.append(html.Tr([
            html.Td(line.code, className="og-shops-mono"),
            html.Td(line.name, className="og-shops-name"),
            html.Td(line.licence_no or "—", className="og-shops-mono"),
            html.Td(line.address or "—"),
            html.Td(_place(line)),
            html.Td([html.Div(line.owner_name or "—"),
                     html.Div(line.owner_phone or "", className="og-shops-sub")]),
            html.Td(local_time(line.qr_issued_at, tz), className="og-shops-issued"),
            html.Td(html.Span(t("shops.active" if line.active else "shops.inactive", lang),
                              className="badge " + ("text-bg-success" if line.active
                                                    else "text-bg-secondary"))),
            html.Td(dbc.Button(t("shops.revoke", lang), id={"type": ids.SHOPS_REVOKE,
                                                             "code": line.code},
                               n_clicks=0, size="sm", color="outline-danger",
                               className="og-shops-revoke")),
        ], **{"data-shop-code": line.code}))
    return dbc.Table([head, html.Tbody(rows)], hover=True, size="sm", responsive=True,
                     className="og-shops-table mb-0")


def pager_text(page: ShopListPage, lang: str) -> str:
    return t("shops.pager", lang).format(page=page.page, pages=page.pages, total=page.total)


def street_list(streets: Sequence[StreetCount], lang: str) -> html.Ul:
    """One line per street: its name, active shops and the plaques PDF link (none without
    shops: the export says 404 then)."""
    items = []
    for street in streets:
        name = street.name_en or street.name if lang == "en" else street.name
        link: Any = (html.A(t("shops.plaques.pdf", lang), href=plaques_href(street.code),
                            id=f"{ids.SHOPS_PLAQUES}-{street.code}", target="_blank",
                            className="btn btn-sm btn-outline-primary og-shops-pdf",
                            **{"data-street": street.code})
                     if street.shops else
                     html.Span(t("shops.plaques.pdf", lang),
                               className="btn btn-sm btn-outline-secondary disabled"))
        items.append(html.Li([
            html.Span(name, className="og-shops-street-name"),
            html.Span(t("shops.plaques.count", lang).format(n=street.shops),
                      className="og-shops-sub"),
            link], className="og-shops-street"))
    return html.Ul(items, className="og-shops-streets")


def _error_text(error: Any, lang: str) -> str:
    return error.en if lang == "en" else error.zh


def column_label(column: str, lang: str) -> str:
    """A failed row's column as the file names it (its first Chinese name, or the field)."""
    if not column:
        return "—"
    return column if lang == "en" or column not in COLUMNS else COLUMNS[column][0]


def import_report(report: ImportReport, filename: str, lang: str) -> html.Div:
    """Counts of created / updated / unchanged rows and the failed rows (line, column, reason)."""
    failed = sorted(report.failed, key=lambda e: (e.line, e.column))
    counts = html.Div([
        html.Span([html.Span(t(f"shops.report.{key}", lang), className="og-shops-count-label"),
                   html.Span(str(n), className="og-shops-count-value",
                             id=f"{ids.SHOPS_REPORT}-{key}")],
                  className=f"og-shops-count og-shops-count-{key}")
        for key, n in (("created", len(report.created)), ("updated", len(report.updated)),
                       ("unchanged", len(report.unchanged)),
                       ("failed", len(report.failed_lines)))
    ], className="og-shops-counts")
    parts: list[Any] = [
        html.Div([html.Strong(t("shops.report.dry" if report.dry_run else "shops.report.done",
                                lang)),
                  html.Span(f" · {t('shops.report.file', lang)} {filename}",
                            className="og-shops-sub")]),
        counts]
    if report.ignored_columns:
        parts.append(html.Div(t("shops.report.ignored", lang) + ", ".join(
            report.ignored_columns), className="og-shops-sub"))
    if report.approximate:  # placed by their address: the operator checks them on the map
        parts.append(html.Ul([html.Li(f"{t('shops.report.line', lang)} {e.line}: "
                                      f"{_error_text(e, lang)}", className="og-shops-approx")
                              for e in report.approximate[:MAX_FAILED_SHOWN]],
                             className="og-shops-sub", id=f"{ids.SHOPS_REPORT}-approximate"))
    if failed:
        shown = failed[:MAX_FAILED_SHOWN]
        parts.append(dbc.Table([
            html.Thead(html.Tr([html.Th(t("shops.report.line", lang)),
                                html.Th(t("shops.report.column", lang)),
                                html.Th(t("shops.report.reason", lang))])),
            html.Tbody([html.Tr([html.Td(str(e.line)), html.Td(column_label(e.column, lang)),
                                 html.Td(_error_text(e, lang))],
                                className="og-shops-failed", **{"data-line": str(e.line)})
                        for e in shown]),
        ], size="sm", className="og-shops-failed-table mb-0"))
        if len(failed) > len(shown):
            parts.append(html.Div(t("shops.report.more", lang).format(
                n=len(failed) - len(shown)), className="og-shops-sub"))
    else:
        parts.append(html.Div(t("shops.report.none_failed", lang), className="og-shops-sub"))
    return html.Div(parts, className="og-shops-report-body",
                    **{"data-dry-run": "1" if report.dry_run else "0"})


def message(ok: bool, text: str, url: str | None = None) -> dbc.Alert:
    body: list[Any] = [text]
    if url:
        body.append(html.A(url, href=url, id=ids.SHOPS_NEW_URL, target="_blank",
                           className="og-shops-url"))
    return dbc.Alert(body, color="success" if ok else "danger", dismissable=True,
                     className="og-shops-alert mb-2")


def confirm_text(name: str, code: str, lang: str) -> str:
    return t("shops.confirm.text", lang).format(name=name, code=code)


# -- the page ----------------------------------------------------------------------------------
def _column_help(lang: str) -> html.Details:
    names = [aliases[0] for aliases in COLUMNS.values()]
    return html.Details([
        html.Summary(t("shops.columns", lang) + "、".join(names[:6]) + " …"),
        html.Div("、".join(" / ".join(a[:2]) for a in COLUMNS.values()),
                 className="og-shops-sub"),
        html.Div(t("shops.columns.rule", lang), className="og-shops-sub mt-1"),
    ], className="og-shops-help")


def _modal(lang: str) -> dbc.Modal:
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(t("shops.confirm.title", lang))),
        dbc.ModalBody(id=ids.SHOPS_MODAL_BODY),
        dbc.ModalFooter([
            dbc.Button(t("shops.confirm.cancel", lang), id=ids.SHOPS_CANCEL, n_clicks=0,
                       color="secondary", outline=True),
            dbc.Button(t("shops.confirm.ok", lang), id=ids.SHOPS_CONFIRM, n_clicks=0,
                       color="danger"),
        ]),
    ], id=ids.SHOPS_MODAL, is_open=False, centered=True, className="og-shops-modal")


def layout(street: str | None = None, **_query: str) -> html.Div | dbc.Alert:
    """The registry for administrators and the command center (``?street=CODE`` opens it
    filtered); anyone else a notice."""
    who = current_principal()
    if who is None or who.role not in ROLES:
        return notice(t("forbidden.title"), t("forbidden.text"), "danger")
    lang = current_lang()
    with get_services().session() as session:
        regions = region_tree(session)
    streets = [{"label": t("shops.street.all", lang), "value": ALL}] + [
        {"label": region_label(r, lang), "value": r.code} for r in regions
        if r.level == "street"]
    picked = street if street in {o["value"] for o in streets} else ALL
    table = html.Section([
        html.Div([
            dbc.Input(id=ids.SHOPS_QUERY, type="search", debounce=True, maxLength=100,
                      placeholder=t("shops.search", lang), className="og-shops-query"),
            dbc.Label(t("shops.street", lang), html_for=ids.SHOPS_STREET,
                      className="visually-hidden"),
            dbc.Select(id=ids.SHOPS_STREET, options=streets, value=picked,
                       className="og-shops-street-select"),
        ], className="og-shops-filters"),
        html.Div(id=ids.SHOPS_MESSAGE, **{"aria-live": "polite"}),
        html.Div(id=ids.SHOPS_TABLE, className="og-shops-table-wrap"),
        html.Div([
            dbc.Button(t("shops.prev", lang), id=ids.SHOPS_PREV, n_clicks=0, size="sm",
                       color="secondary", outline=True, disabled=True),
            html.Span(id=ids.SHOPS_PAGER, className="og-shops-pager-text"),
            dbc.Button(t("shops.next", lang), id=ids.SHOPS_NEXT, n_clicks=0, size="sm",
                       color="secondary", outline=True, disabled=True),
        ], className="og-shops-pager"),
    ], className="og-card og-shops-main")
    side = html.Aside([
        html.Section([
            html.H2(t("shops.import", lang), className="og-h3"),
            dcc.Upload(html.Div(t("shops.drop", lang)), id=ids.SHOPS_UPLOAD, multiple=False,
                       accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-"
                              "officedocument.spreadsheetml.sheet",
                       className="og-shops-upload"),
            dbc.Switch(id=ids.SHOPS_DRY_RUN, label=t("shops.dry_run", lang), value=False,
                       className="mt-2"),
            _column_help(lang),
            dcc.Loading(html.Div(id=ids.SHOPS_REPORT, **{"aria-live": "polite"}),
                        type="dot"),
        ], className="og-card"),
        html.Section([
            html.H2(t("shops.plaques", lang), className="og-h3"),
            html.Div(t("shops.plaques.help", lang), className="og-shops-sub mb-2"),
            html.Div(id=ids.SHOPS_STREETS),
        ], className="og-card"),
    ], className="og-shops-side")
    return html.Div([
        dcc.Store(id=ids.SHOPS_PAGE, data=1),
        dcc.Store(id=ids.SHOPS_VERSION, data=0),
        dcc.Store(id=ids.SHOPS_PENDING),
        html.Div([html.H1(t("shops.title", lang), className="og-page-title"),
                  html.Span(t("shops.subtitle", lang), className="og-shops-sub")],
                 className="og-shops-head"),
        html.Div([table, side], className="og-shops-grid"),
        _modal(lang),
    ], id=ids.SHOPS_ROOT, className="og-shops")
