"""Responsibility plaques (门前三包责任牌) as a print-ready PDF: A5 portrait, one plaque a page.

Each plaque shows the bureau, the shop's name and address, its responsibility zone (in words
and as a small drawing with the shop up and the street down), the three duties
(:data:`shops.problems.DUTIES`), the QR code of the shop's public page
(``{public_url}/s/<token>``, drawn as vector squares by reportlab's own QR encoder, error
correction level M, a four-module quiet zone) and the hotline. The CJK font is embedded like
the scorecard's (:func:`reports.pdf.find_cjk_font`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import date
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.lib import colors
from reportlab.lib.pagesizes import A5
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph
from shapely.geometry import Point, Polygon

from gis.crs import project, utm_epsg_for
from reports.pdf import FONT_DIRS, CjkFont, find_cjk_font
from reports.pdf import _register as register_font
from shops.problems import DUTIES
from shops.registry import zone_size
from shops.tokens import public_url_for

__all__ = ["Plaque", "PlaqueSheet", "build_plaques", "zone_text"]

TITLE = "门前三包责任牌"
SUBTITLE = "市容环境卫生责任区 · Shop-front responsibility"
BLUE = colors.HexColor("#1f4e79")
ZONE_FILL = colors.HexColor("#fde68a")
QR_SIZE = 56 * mm
QUIET_MODULES = 4
MARGIN = 10 * mm


@dataclass(frozen=True)
class Plaque:
    """One shop's plaque: ``token`` is its current QR token, ``zone`` WGS84."""

    code: str
    name: str
    token: str
    lon: float
    lat: float
    address: str | None = None
    zone: Polygon | None = None
    grid_code: str | None = None
    community: str | None = None
    frontage_m: float | None = None


@dataclass
class PlaqueSheet:
    """The plaques of one street, with the city naming the bureau."""

    city: str
    street_code: str
    street_name: str
    plaques: list[Plaque] = field(default_factory=list)

    @property
    def bureau(self) -> str:
        return f"{self.city}城市管理局" if self.city else "城市管理局"


def zone_text(plaque: Plaque) -> str:
    """The zone in words: its size in front of the door, the community and grid."""
    if plaque.zone is None or plaque.zone.is_empty:
        size = "店门前人行道"
    else:
        width, depth, area = zone_size(plaque.zone)
        size = f"店门前 {width:.1f} 米（沿街）× {depth:.1f} 米（进深），约 {area:.0f} 平方米"
    where = "，".join(p for p in (plaque.community,
                                 f"网格 {plaque.grid_code}" if plaque.grid_code else None) if p)
    return f"{size}（{where}）" if where else size


def _qr(canvas: Canvas, url: str, x: float, y: float, size: float) -> None:
    """The QR code of ``url`` as filled rectangles (runs of dark modules), quiet zone included.
    Drawn on the canvas directly: reportlab's renderer would add an unembedded Helvetica."""
    widget = QrCodeWidget(url, barLevel="M", barBorder=QUIET_MODULES)
    code = widget.qr
    code.make()
    count = code.getModuleCount()
    box = size / (count + 2 * QUIET_MODULES)
    canvas.saveState()
    canvas.setFillColor(colors.white)
    canvas.rect(x, y, size, size, fill=1, stroke=0)
    canvas.setFillColor(colors.black)
    for r, row in enumerate(code.modules):
        c = 0
        for dark, run in itertools.groupby(bool(m) for m in row):
            n = len(list(run))
            if dark:
                canvas.rect(x + (c + QUIET_MODULES) * box,
                            y + size - (r + QUIET_MODULES + 1) * box, n * box, box,
                            fill=1, stroke=0)
            c += n
    canvas.restoreState()


def _zone_drawing(canvas: Canvas, plaque: Plaque, x: float, y: float, w: float, h: float,
                  font: str) -> None:
    """The zone in a ``w``×``h`` box: rotated so the street is down, the door a dot."""
    canvas.setStrokeColor(colors.HexColor("#94a3b8"))
    canvas.setLineWidth(0.5)
    canvas.rect(x, y, w, h)
    zone = plaque.zone
    if zone is None or zone.is_empty or not math.isfinite(plaque.lon):
        return
    epsg = utm_epsg_for(plaque.lon, plaque.lat)
    door = project(Point(plaque.lon, plaque.lat), 4326, epsg)
    ring = list(project(zone, 4326, epsg).exterior.coords)
    centre = project(zone.centroid, 4326, epsg)
    angle = math.atan2(centre.y - door.y, centre.x - door.x)
    turn = -math.pi / 2 - angle  # the zone's centre straight below the door
    cos_t, sin_t = math.cos(turn), math.sin(turn)

    def rot(px: float, py: float) -> tuple[float, float]:
        dx, dy = px - door.x, py - door.y
        return dx * cos_t - dy * sin_t, dx * sin_t + dy * cos_t

    pts = [rot(px, py) for px, py in ring]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    span = max(max(xs) - min(xs), (max(ys) - min(ys)) * 1.6, 1.0)
    scale = (w - 16) / span
    shop_h = (max(ys) - min(ys)) * 0.6 * scale
    cx = x + w / 2 - (max(xs) + min(xs)) / 2 * scale
    top = y + h - 8 - shop_h  # the door line
    # the shop (above the door), the zone (below it), the door
    canvas.setFillColor(colors.HexColor("#e2e8f0"))
    canvas.rect(cx + min(xs) * scale, top, (max(xs) - min(xs)) * scale, shop_h, fill=1,
                stroke=0)
    path = canvas.beginPath()
    for i, (px, py) in enumerate(pts):
        (path.moveTo if i == 0 else path.lineTo)(cx + px * scale, top + py * scale)
    path.close()
    canvas.setFillColor(ZONE_FILL)
    canvas.setStrokeColor(colors.HexColor("#b45309"))
    canvas.setLineWidth(1)
    canvas.drawPath(path, fill=1, stroke=1)
    canvas.setFillColor(colors.HexColor("#b91c1c"))
    canvas.circle(cx, top, 2.2, fill=1, stroke=0)
    canvas.setFillColor(colors.HexColor("#334155"))
    canvas.setFont(font, 7)
    canvas.drawCentredString(cx, top + shop_h / 2 - 2, "店铺")
    canvas.drawCentredString(x + w / 2, y + 4, "↓ 道路")


def _fit_size(text: str, font: str, width: float, size: float, least: float) -> float:
    while size > least and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _page(canvas: Canvas, sheet: PlaqueSheet, plaque: Plaque, *, public_url: str,
          hotline: str, issued: date, font: str) -> None:
    page_w, page_h = A5
    inner = page_w - 2 * MARGIN
    # Band: bureau, title
    band_h = 30 * mm
    canvas.setFillColor(BLUE)
    canvas.rect(0, page_h - band_h, page_w, band_h, fill=1, stroke=0)
    canvas.setFillColor(colors.white)
    canvas.setFont(font, 11)
    canvas.drawCentredString(page_w / 2, page_h - 9 * mm, sheet.bureau)
    canvas.setFont(font, 24)
    canvas.drawCentredString(page_w / 2, page_h - 20 * mm, TITLE)
    canvas.setFont(font, 8)
    canvas.drawCentredString(page_w / 2, page_h - 26 * mm, SUBTITLE)
    # Shop name and address
    y = page_h - band_h - 12 * mm
    canvas.setFillColor(colors.black)
    size = _fit_size(plaque.name, font, inner, 20, 10)
    canvas.setFont(font, size)
    canvas.drawCentredString(page_w / 2, y, plaque.name)
    canvas.setFont(font, 9)
    canvas.setFillColor(colors.HexColor("#334155"))
    line = "　".join(p for p in (plaque.address, f"{sheet.street_name}", f"编号 {plaque.code}")
                    if p)
    canvas.drawCentredString(page_w / 2, y - 6 * mm, line)
    # QR (left) and the zone drawing (right)
    top = y - 10 * mm
    qr_x = MARGIN
    _qr(canvas, public_url_for(public_url, plaque.token), qr_x, top - QR_SIZE, QR_SIZE)
    canvas.setFont(font, 8)
    canvas.setFillColor(colors.black)
    canvas.drawCentredString(qr_x + QR_SIZE / 2, top - QR_SIZE - 4 * mm,
                             "扫码：查看责任、反映问题、评价商户")
    box_x = qr_x + QR_SIZE + 6 * mm
    box_w = page_w - MARGIN - box_x
    _zone_drawing(canvas, plaque, box_x, top - QR_SIZE + 2 * mm, box_w, QR_SIZE - 4 * mm, font)
    canvas.setFont(font, 8)
    canvas.drawCentredString(box_x + box_w / 2, top - QR_SIZE - 4 * mm, "责任区示意")
    # Zone in words and the duties
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13, wordWrap="CJK")
    head = ParagraphStyle("head", fontName=font, fontSize=11, leading=15, textColor=BLUE)
    y = top - QR_SIZE - 10 * mm
    blocks = [Paragraph("责任区范围", head), Paragraph(escape(zone_text(plaque)), body),
              Paragraph("责任内容", head)]
    blocks += [Paragraph(f"{i}. {escape(zh)}", body) for i, (zh, _en) in enumerate(DUTIES, 1)]
    for block in blocks:
        _, h = block.wrap(inner, page_h)
        block.drawOn(canvas, MARGIN, y - h)
        y -= h + 1.5 * mm
    # Footer: hotline
    foot_h = 16 * mm
    canvas.setFillColor(colors.HexColor("#f1f5f9"))
    canvas.rect(0, 0, page_w, foot_h, fill=1, stroke=0)
    canvas.setFillColor(BLUE)
    canvas.setFont(font, 15)
    canvas.drawCentredString(page_w / 2, 8.5 * mm, f"监督举报电话：{hotline}")
    canvas.setFillColor(colors.HexColor("#64748b"))
    canvas.setFont(font, 7)
    canvas.drawCentredString(page_w / 2, 3.5 * mm,
                             f"{sheet.bureau} 监制 · {issued.isoformat()} · 二维码如被替换即失效")


def build_plaques(sheet: PlaqueSheet, *, public_url: str, hotline: str,
                  issued: date | None = None, font: CjkFont | None = None) -> bytes:
    """The PDF's bytes: one A5 page per plaque (raises ``FontMissingError`` without a CJK
    font, ``ValueError`` for a sheet without plaques)."""
    if not sheet.plaques:
        raise ValueError(f"street {sheet.street_code} has no active shops: no plaques to print")
    name = register_font(font or find_cjk_font(FONT_DIRS))
    out = BytesIO()
    canvas = Canvas(out, pagesize=A5, pageCompression=1, initialFontName=name)
    canvas.setTitle(f"{sheet.street_name} 门前三包责任牌")
    canvas.setAuthor(sheet.bureau)
    canvas.setCreator("OneGrid")
    issued = issued or date.today()
    for plaque in sheet.plaques:
        _page(canvas, sheet, plaque, public_url=public_url, hotline=hotline, issued=issued,
              font=name)
        canvas.showPage()
    canvas.save()
    return out.getvalue()
