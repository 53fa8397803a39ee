"""Builders of the scorecards page's shop-front section (门前三包): a published month's streets
or communities ranked by their shops' mean score, the red and black lists, the downloads.
Pure functions of the rows of :mod:`data.shop_rankings`."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import html

from data.shop_rankings import SHOP_RANK_LEVELS, ShopAreaRow, ShopListRow
from i18n import add_messages, t
from layouts import _ids as ids
from reports.shop_scores import losses_text

LIST_SHOWN = 10

add_messages({
    "shopscores.title": {"zh-CN": "门前三包评分", "en": "Shop-front scores"},
    "shopscores.month": {"zh-CN": "发布月份", "en": "Published month"},
    "shopscores.by.street": {"zh-CN": "按街道", "en": "By street"},
    "shopscores.by.community": {"zh-CN": "按社区", "en": "By community"},
    "shopscores.none": {"zh-CN": "尚未发布门前三包月度评分。管理员可运行 "
                                 "python app.py shop-scores --month YYYY-MM --freeze 发布。",
                        "en": "No month of shop scores published yet. An administrator "
                              "publishes one with python app.py shop-scores --month YYYY-MM "
                              "--freeze."},
    "shopscores.rank": {"zh-CN": "名次", "en": "Rank"},
    "shopscores.area": {"zh-CN": "区域", "en": "Area"},
    "shopscores.shops": {"zh-CN": "商户数", "en": "Shops"},
    "shopscores.mean": {"zh-CN": "平均分", "en": "Mean"},
    "shopscores.five": {"zh-CN": "五星", "en": "5★"},
    "shopscores.red": {"zh-CN": "红榜", "en": "Red list"},
    "shopscores.black": {"zh-CN": "黑榜", "en": "Black list"},
    "shopscores.empty_list": {"zh-CN": "本月无", "en": "none this month"},
    "shopscores.more": {"zh-CN": "另有 {n} 家，见导出文件", "en": "{n} more in the downloads"},
    "shopscores.xlsx": {"zh-CN": "导出 Excel", "en": "Excel"},
    "shopscores.pdf": {"zh-CN": "导出 PDF", "en": "PDF"},
    "shopscores.frozen": {"zh-CN": "已发布月份冻结，不随后续修改变化",
                          "en": "A published month is frozen: later edits do not change it"},
})


def export_links(month: str | None) -> tuple[str, str]:
    query = "?" + urlencode({"month": month}) if month else ""
    return (f"/exports/shop-scores.xlsx{query}", f"/exports/shop-scores.pdf{query}")


def rank_table(rows: Sequence[ShopAreaRow], lang: str) -> html.Table | html.P:
    if not rows:
        return html.P(t("shopscores.empty_list", lang), className="og-sc-muted")
    head = html.Thead(html.Tr([html.Th(t(f"shopscores.{k}", lang)) for k in
                               ("rank", "area", "shops", "mean", "five", "red", "black")]))
    body = html.Tbody([html.Tr([
        html.Td(r.rank), html.Td([html.Span((r.name_en or r.name) if lang == "en" else r.name),
                                  html.Small(f" {r.code}", className="og-sc-muted")]),
        html.Td(f"{r.shops:,}"), html.Td(f"{r.mean:.1f}"), html.Td(r.five_star),
        html.Td(r.red), html.Td(r.black, className="og-sc-bad" if r.black else None),
    ]) for r in rows])
    return html.Table([head, body], className="table table-sm og-sc-shop-table")


def shop_items(rows: Sequence[ShopListRow], total: int, lang: str) -> list:
    if not rows:
        return [html.Li(t("shopscores.empty_list", lang), className="og-sc-muted")]
    items = [html.Li([html.B(r.name), html.Span(f" {r.score:.1f}", className="og-sc-score"),
                      html.Small(f" · {r.street or ''}", className="og-sc-muted"),
                      html.Div(losses_text(r.losses, lang), className="og-sc-losses")
                      if r.losses else None],
                     title=r.code) for r in rows[:LIST_SHOWN]]
    if total > LIST_SHOWN:
        items.append(html.Li(t("shopscores.more", lang).format(n=total - LIST_SHOWN),
                             className="og-sc-muted"))
    return items


def shop_card(months: Sequence[str], lang: str) -> html.Section:
    """The section; empty lists until the callback fills them for the chosen month."""
    month = months[0] if months else None
    xlsx, pdf = export_links(month)
    if not months:
        body = [html.P(t("shopscores.none", lang), className="og-sc-muted",
                       id=ids.SCORECARDS_SHOP_TABLE)]
    else:
        body = [
            html.Div([
                html.Div([dbc.Label(t("shopscores.month", lang),
                                    html_for=ids.SCORECARDS_SHOP_MONTH),
                          dbc.Select(id=ids.SCORECARDS_SHOP_MONTH, value=month,
                                     options=[{"label": m, "value": m} for m in months])],
                         className="og-sc-field"),
                dbc.RadioItems(id=ids.SCORECARDS_SHOP_BY, value="street",
                               options=[{"label": t(f"shopscores.by.{k}", lang), "value": k}
                                        for k in SHOP_RANK_LEVELS],
                               className="btn-group", inputClassName="btn-check",
                               labelClassName="btn btn-outline-primary btn-sm",
                               labelCheckedClassName="active"),
                html.A(t("shopscores.xlsx", lang), id=ids.SCORECARDS_SHOP_XLSX, href=xlsx,
                       className="btn btn-success btn-sm", download=""),
                html.A(t("shopscores.pdf", lang), id=ids.SCORECARDS_SHOP_PDF, href=pdf,
                       className="btn btn-danger btn-sm", download=""),
                html.Small(t("shopscores.frozen", lang), className="og-sc-muted"),
            ], className="og-sc-shop-bar"),
            html.Div([
                html.Div(id=ids.SCORECARDS_SHOP_TABLE, className="og-sc-shop-rank"),
                html.Div([html.H3(t("shopscores.red", lang), className="og-sc-red"),
                          html.Ol(id=ids.SCORECARDS_SHOP_RED, className="og-sc-shop-list")],
                         className="og-sc-shop-col"),
                html.Div([html.H3(t("shopscores.black", lang), className="og-sc-black"),
                          html.Ol(id=ids.SCORECARDS_SHOP_BLACK, className="og-sc-shop-list")],
                         className="og-sc-shop-col"),
            ], className="og-sc-shop-body"),
        ]
    return html.Section([html.H2(t("shopscores.title", lang), className="og-sc-card-title"),
                         *body], className="og-sc-card og-sc-shop-card")
