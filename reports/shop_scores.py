"""A published month of shop scores (门前三包) as an Excel workbook and a printable PDF.

The workbook: what it is; streets ranked; communities ranked; the red list; the black list;
every shop with its score, stars, list and where it lost points. The PDF (A4 portrait): the
streets ranked, then the red and black lists, each shop with its reasons. Both from plain rows
of :mod:`data.shop_rankings`; Chinese fonts as in :mod:`reports.pdf`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from data.shop_rankings import ShopAreaRow, ShopListRow
from reports.pdf import MARGIN, CjkFont, _fit, _register, find_cjk_font
from reports.xlsx import _header

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("门前三包月度评分 {month}", "Shop-front scores, {month}"),
    "about": ("说明", "About"),
    "generated": ("生成时间", "Generated"),
    "streets": ("街道排名", "Streets ranked"),
    "communities": ("社区排名", "Communities ranked"),
    "red": ("红榜", "Red list"),
    "black": ("黑榜", "Black list"),
    "all": ("全部商户", "All shops"),
    "rank": ("名次", "Rank"),
    "code": ("编码", "Code"),
    "area": ("区域", "Area"),
    "shops": ("商户数", "Shops"),
    "mean": ("平均分", "Mean score"),
    "five": ("五星", "5 stars"),
    "shop": ("商户", "Shop"),
    "street": ("街道", "Street"),
    "score": ("得分", "Score"),
    "stars": ("星级", "Stars"),
    "list": ("榜单", "List"),
    "street_rank": ("街道内名次", "Rank in street"),
    "losses": ("扣分原因", "Points lost"),
    "none": ("（无）", "(none)"),
    "formula": ("评分办法见 docs/shop-scoring.md；已发布月份冻结，不随后续修改变化。",
                "The formula is in docs/shop-scoring.md; a published month is frozen."),
}


def tx(key: str, lang: str, **values: object) -> str:
    zh, en = TEXTS[key]
    return (en if lang == "en" else zh).format(**values)


def list_label(listed: str | None, lang: str) -> str:
    return tx(listed, lang) if listed in ("red", "black") else ""


def losses_text(losses: Sequence[dict], lang: str) -> str:
    """Where a shop lost points, one line: "店外经营 −6；评价 −2" (the formula's own words)."""
    parts = []
    for item in losses:
        label = item.get("text_en" if lang == "en" else "text") or item.get("reason", "")
        points = float(item.get("points") or 0)
        parts.append(f"{label} −{points:g}")
    return "；".join(parts) if lang != "en" else "; ".join(parts)


@dataclass(frozen=True)
class ShopMonthReport:
    month: str
    lang: str
    generated_at: datetime
    streets: list[ShopAreaRow]
    communities: list[ShopAreaRow]
    red: list[ShopListRow]
    black: list[ShopListRow]
    shops: list[ShopListRow]

    def title(self) -> str:
        return tx("title", self.lang, month=self.month)


def _area_rows(rows: Sequence[ShopAreaRow], lang: str) -> list[list[object]]:
    return [[r.rank, r.code, (r.name_en or r.name) if lang == "en" else r.name, r.shops,
             r.mean, r.five_star, r.red, r.black] for r in rows]


def _shop_rows(rows: Sequence[ShopListRow], lang: str) -> list[list[object]]:
    return [[r.code, r.name, r.street or r.street_code or "", round(r.score, 1), r.stars,
             list_label(r.listed, lang), r.rank_in_street, losses_text(r.losses, lang)]
            for r in rows]


def build_shop_xlsx(report: ShopMonthReport) -> bytes:
    lang = report.lang
    wb = Workbook()
    about = wb.active
    about.title = tx("about", lang)
    about.append([report.title()])
    about["A1"].font = Font(bold=True, size=14)
    about.append([tx("generated", lang), report.generated_at.strftime("%Y-%m-%d %H:%M %Z")])
    about.append([tx("formula", lang)])
    area_head = [tx(k, lang) for k in ("rank", "code", "area", "shops", "mean", "five", "red",
                                       "black")]
    shop_head = [tx(k, lang) for k in ("code", "shop", "street", "score", "stars", "list",
                                       "street_rank", "losses")]
    for key, rows in (("streets", report.streets), ("communities", report.communities)):
        ws = wb.create_sheet(tx(key, lang)[:31])
        _header(ws, area_head, [6, 14, 22, 8, 9, 7, 7, 7])
        for row in _area_rows(rows, lang):
            ws.append(row)
        ws.freeze_panes = "A2"
    for key, rows in (("red", report.red), ("black", report.black), ("all", report.shops)):
        ws = wb.create_sheet(tx(key, lang)[:31])
        _header(ws, shop_head, [12, 24, 16, 8, 6, 7, 9, 60])
        for row in _shop_rows(rows, lang):
            ws.append(row)
        ws.freeze_panes = "A2"
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def build_shop_pdf(report: ShopMonthReport, font: CjkFont | None = None) -> bytes:
    """A4 portrait: the streets ranked, the red list, the black list (raises
    ``reports.pdf.FontMissingError`` without a CJK font)."""
    name = _register(font or find_cjk_font())
    lang = report.lang
    title = ParagraphStyle("t", fontName=name, fontSize=16, leading=20, spaceAfter=4)
    sub = ParagraphStyle("s", fontName=name, fontSize=9, leading=12,
                         textColor=colors.HexColor("#334155"))
    h2 = ParagraphStyle("h", fontName=name, fontSize=11, leading=14, spaceBefore=8,
                        spaceAfter=4)
    head = ParagraphStyle("hd", fontName=name, fontSize=7, leading=9, alignment=TA_CENTER,
                          textColor=colors.white)
    cell = ParagraphStyle("c", fontName=name, fontSize=7, leading=9)
    style = [
        ("FONT", (0, 0), (-1, -1), name, 7.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f4e79")),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#94a3b8")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f1f5f9")]),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    story: list = [
        Paragraph(report.title(), title),
        Paragraph(f"{tx('generated', lang)}：{report.generated_at.strftime('%Y-%m-%d %H:%M %Z')}"
                  f"　{tx('formula', lang)}", sub),
        Paragraph(tx("streets", lang), h2),
    ]
    keys = ("rank", "code", "area", "shops", "mean", "five", "red", "black")
    widths = [30, 62, 150, 50, 55, 45, 45, 45]
    body = [[r[0], r[1], _fit(str(r[2]), widths[2] - 6, name, 7.5), *r[3:]]
            for r in _area_rows(report.streets, lang)] or [["", "", tx("none", lang)] + [""] * 5]
    table = Table([[Paragraph(tx(k, lang), head) for k in keys], *body], colWidths=widths,
                  repeatRows=1)
    table.setStyle(TableStyle(style))
    story.append(table)
    keys = ("code", "shop", "street", "score", "stars", "losses")
    widths = [58, 110, 70, 36, 30, 226]
    for listed, rows in (("red", report.red), ("black", report.black)):
        story.append(Paragraph(f"{tx(listed, lang)}（{len(rows)}）", h2))
        body = [[r.code, _fit(r.name, widths[1] - 6, name, 7.5),
                 _fit(r.street or r.street_code or "", widths[2] - 6, name, 7.5),
                 f"{r.score:.1f}", r.stars, Paragraph(losses_text(r.losses, lang) or "—", cell)]
                for r in rows] or [["", tx("none", lang), "", "", "", ""]]
        table = Table([[Paragraph(tx(k, lang), head) for k in keys], *body], colWidths=widths,
                      repeatRows=1)
        table.setStyle(TableStyle(style))
        story.append(table)

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(name, 7)
        canvas.setFillColor(colors.HexColor("#64748b"))
        canvas.drawString(MARGIN, MARGIN / 2, report.title())
        canvas.drawRightString(A4[0] - MARGIN, MARGIN / 2, f"{doc.page}")
        canvas.restoreState()

    out = BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN, title=report.title(),
                            author="OneGrid", creator="OneGrid", initialFontName=name,
                            initialFontSize=7)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
