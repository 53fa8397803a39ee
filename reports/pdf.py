"""The scorecard as a printable PDF (reportlab): A4 landscape, the title with the period and the
generation time, one table per grouping (header repeated on every page), then the formulas.

Chinese text needs a CJK font embedded in the file. reportlab's ``TTFont`` reads TrueType
outlines only: Debian's fonts-noto-cjk (CFF outlines in a .ttc) cannot be used, so
:func:`find_cjk_font` looks for a TrueType CJK font — WenQuanYi Micro Hei from the Debian
package ``fonts-wqy-microhei`` first — and :class:`FontMissingError` names that package when there
is none. The font is subset and embedded (``/FontFile2``), so the PDF reads the same on any
machine.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import (
    Paragraph,
    SimpleDocTemplate,
    Table,
    TableStyle,
)

from cases.metrics import INDICATORS
from reports.scorecard import (
    Scorecard,
    format_value,
    indicator_formula,
    indicator_name,
    text,
)

FONT_PACKAGE = "fonts-wqy-microhei"
FONT_DIRS: tuple[str, ...] = ("/usr/share/fonts", "/usr/local/share/fonts")
#: Known TrueType-outline CJK fonts on Debian, best first: (path, index in a .ttc).
KNOWN_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),    # fonts-wqy-microhei
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),      # fonts-wqy-zenhei
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),        # fonts-arphic-uming
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),  # fonts-droid-fallback
)
#: Characters a usable font must have (a CJK font covers far more; these catch a Latin one).
PROBE = "考核评价率数中"
FONT_NAME = "OneGridCJK"
MARGIN = 12 * mm


class FontMissingError(RuntimeError):
    """No TrueType CJK font on the machine: the PDF cannot show Chinese."""

    def __init__(self, searched: Sequence[str]) -> None:
        super().__init__(
            "no TrueType CJK font found (searched " + ", ".join(searched) + "); the PDF needs "
            f"one to embed: install the Debian package {FONT_PACKAGE} "
            f"(apt-get install {FONT_PACKAGE})")
        self.package = FONT_PACKAGE


@dataclass(frozen=True)
class CjkFont:
    path: str
    subfont_index: int
    family: str


def _truetype_outlines(path: Path) -> bool:
    """Cheap look at the file's table directory: TrueType outlines have a ``glyf`` table."""
    try:
        with path.open("rb") as f:
            head = f.read(12)
            if head[:4] == b"ttcf":
                f.seek(struct.unpack(">I", f.read(4))[0])  # the first font's offset
                head = f.read(12)
            tables = struct.unpack(">H", head[4:6])[0]
            names = {f.read(16)[:4] for _ in range(min(tables, 64))}
    except (OSError, struct.error):
        return False
    return b"glyf" in names


def _load(path: str, index: int) -> TTFont | None:
    try:
        font = TTFont(FONT_NAME, path, subfontIndex=index)
    except (TTFError, OSError, ValueError, struct.error):
        return None
    cmap = font.face.charToGlyph
    return font if all(ord(ch) in cmap for ch in PROBE) else None


@functools.lru_cache(maxsize=4)
def find_cjk_font(dirs: tuple[str, ...] = FONT_DIRS) -> CjkFont:
    """The first usable TrueType CJK font: the known ones, then any large TrueType font under
    ``dirs`` that has the probe characters. Raises :class:`FontMissingError`."""
    candidates = [(p, i) for p, i in KNOWN_FONTS if any(p.startswith(d) for d in dirs)]
    for folder in dirs:
        root = Path(folder)
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if (path.suffix.lower() in (".ttf", ".ttc") and path.is_file()
                        and path.stat().st_size > 2_000_000 and _truetype_outlines(path)):
                    candidates.append((str(path), 0))
    seen = set()
    for path, index in candidates:
        if path in seen or not Path(path).is_file():
            continue
        seen.add(path)
        font = _load(path, index)
        if font is not None:
            family = font.face.name.decode("latin-1", "replace") \
                if isinstance(font.face.name, bytes) else str(font.face.name)
            return CjkFont(path, index, family)
    raise FontMissingError(dirs)


_registered: dict[tuple[str, int], str] = {}


def _register(font: CjkFont) -> str:
    """reportlab's name for ``font`` (registered once per process)."""
    key = (font.path, font.subfont_index)
    if key not in _registered:
        name = f"{FONT_NAME}{len(_registered)}"
        pdfmetrics.registerFont(TTFont(name, font.path, subfontIndex=font.subfont_index))
        _registered[key] = name
    return _registered[key]


def _fit(value: str, width: float, font: str, size: float) -> str:
    """``value`` cut with "…" to fit ``width`` points at ``size`` (one line in a cell)."""
    if pdfmetrics.stringWidth(value, font, size) <= width:
        return value
    while value and pdfmetrics.stringWidth(value + "…", font, size) > width:
        value = value[:-1]
    return value + "…"


def build_pdf(card: Scorecard, font: CjkFont | None = None) -> bytes:
    """The PDF's bytes. ``font`` defaults to :func:`find_cjk_font` over :data:`FONT_DIRS`
    (raises FontMissingError)."""
    name = _register(font or find_cjk_font(FONT_DIRS))
    lang = card.lang
    title = ParagraphStyle("title", fontName=name, fontSize=16, leading=20, spaceAfter=4)
    sub = ParagraphStyle("sub", fontName=name, fontSize=9, leading=12,
                         textColor=colors.HexColor("#334155"))
    h2 = ParagraphStyle("h2", fontName=name, fontSize=11, leading=14, spaceBefore=8,
                        spaceAfter=4)
    head = ParagraphStyle("head", fontName=name, fontSize=6.5, leading=8, alignment=TA_CENTER,
                          textColor=colors.white)
    cell = ParagraphStyle("cell", fontName=name, fontSize=8, leading=10)

    page_w, page_h = landscape(A4)
    usable = page_w - 2 * MARGIN
    code_w, name_w = 64.0, 104.0
    ind_w = (usable - code_w - name_w) / len(INDICATORS)
    period = card.period
    story: list = [
        Paragraph(card.title(), title),
        Paragraph(f"{text('period', lang)}：{period.label(lang)}（{period.first.isoformat()} — "
                  f"{period.last.isoformat()}）　{text('generated', lang)}："
                  f"{card.generated_at.strftime('%Y-%m-%d %H:%M %Z')}", sub),
        Paragraph(text("notes", lang), sub),
    ]
    base_style = [
        ("FONT", (0, 0), (-1, -1), name, 7),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f4e79")),
        ("VALIGN", (0, 0), (-1, 0), "MIDDLE"),
        ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#94a3b8")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f1f5f9")]),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    for table in card.tables:
        story.append(Paragraph(f"{text('by', lang)}：{text(f'by.{table.by}', lang)}"
                               f"（{len(table.rows)}）", h2))
        header = [Paragraph(text("code", lang), head), Paragraph(text("name", lang), head),
                  *(Paragraph(indicator_name(ind, lang), head) for ind in INDICATORS)]
        body = [[row.key, _fit(row.name, name_w - 6, name, 7),
                 *(format_value(ind, row.values.get(ind.key), lang) for ind in INDICATORS)]
                for row in table.rows]
        if not body:
            body = [["", text("empty", lang), *("" for _ in INDICATORS)]]
        grid = Table([header, *body], colWidths=[code_w, name_w, *(ind_w for _ in INDICATORS)],
                     repeatRows=1)
        grid.setStyle(TableStyle(base_style))
        story.append(grid)

    story.append(Paragraph(text("formulas", lang), h2))
    rows = [[Paragraph(text("indicator", lang), head), Paragraph(text("formula", lang), head),
             Paragraph(text("unit", lang), head), Paragraph("key", head)]]
    for ind in INDICATORS:
        rows.append([Paragraph(indicator_name(ind, lang), cell),
                     Paragraph(indicator_formula(ind, lang), cell),
                     text(f"unit.{ind.kind}", lang), ind.key])
    formulas = Table(rows, colWidths=[150, 360, 50, 140], repeatRows=1)
    formulas.setStyle(TableStyle([*base_style, ("ALIGN", (0, 1), (-1, -1), "LEFT"),
                                  ("FONT", (0, 1), (-1, -1), name, 8)]))
    story.append(formulas)

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(name, 7)
        canvas.setFillColor(colors.HexColor("#64748b"))
        canvas.drawString(MARGIN, MARGIN / 2, card.title())
        canvas.drawRightString(page_w - MARGIN, MARGIN / 2, f"{doc.page}")
        canvas.restoreState()

    out = BytesIO()
    doc = SimpleDocTemplate(out, pagesize=(page_w, page_h), leftMargin=MARGIN,
                            rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
                            title=card.title(), author="OneGrid", creator="OneGrid",
                            subject=text("title", lang), initialFontName=name,
                            initialFontSize=7)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
