"""The scorecard PDF builder (reports/pdf.py) on the hand-made rows of
tests/unit/test_exports_builders.py: A4 landscape, read back with poppler's pdftotext (Debian
package poppler-utils), and the embedded TrueType CJK font found in the file's /FontFile2
streams (Debian package fonts-wqy-microhei)."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from cases.metrics import INDICATORS
from reports import pdf as pdf_module
from reports.pdf import FONT_PACKAGE, FontMissingError, build_pdf, find_cjk_font
from tests.unit.test_exports_builders import SHOWN_A, card


def pdf_text(data: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext missing: install the Debian package poppler-utils")
    path = tmp_path / "card.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          check=True, text=True).stdout


def embedded_fonts(data: bytes) -> list[bytes]:
    """The /FontFile2 (TrueType) streams of a PDF, decompressed."""
    fonts = []
    for match in re.finditer(rb"/FontFile2\s+(\d+)\s+0\s+R", data):
        obj = re.search(rb"\n" + match.group(1) + rb" 0 obj\s*<<(.*?)>>\s*stream\r?\n",
                        data, re.S)
        assert obj, "the font file object is missing"
        length = int(re.search(rb"/Length\s+(\d+)", obj.group(1)).group(1))
        raw = data[obj.end():obj.end() + length]
        fonts.append(zlib.decompress(raw) if b"FlateDecode" in obj.group(1) else raw)
    return fonts


def test_pdf_is_a4_landscape_with_the_table_and_the_formulas(tmp_path: Path) -> None:
    data = build_pdf(card())
    assert data.startswith(b"%PDF-")
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert box and (round(float(box.group(1))), round(float(box.group(2)))) == (842, 595)
    text = pdf_text(data, tmp_path)
    assert "西江市 考核评价 · 2026年3月" in text
    assert "2026-03-01 — 2026-03-31" in text and "2026-04-02 09:30" in text
    line = next(line for line in text.splitlines() if "端江区" in line)
    cells = line.split()
    assert cells[:2] == ["449902", "端江区"]
    assert cells[2:] == [SHOWN_A[ind.key] for ind in INDICATORS]
    b_line = next(line for line in text.splitlines() if "鼎山区" in line).split()
    assert b_line[2:6] == ["1", "1", "0", "0.0%"] and b_line.count("—") == 9
    assert "市政设施管理处" in text and "本周期内没有案件" in text  # the empty grid table
    assert "按期结案数 ÷ 应结案数" in text and "on_time_closure_rate" in text


def test_pdf_embeds_a_truetype_cjk_font(tmp_path: Path) -> None:
    data = build_pdf(card())
    fonts = embedded_fonts(data)
    assert fonts, "no /FontFile2 in the PDF: the CJK font is not embedded"
    assert all(f[:4] in (b"\x00\x01\x00\x00", b"true") for f in fonts), "not TrueType"
    # Every font the pages use is embedded (no reference to a base-14 font without a file).
    names = set(re.findall(rb"/BaseFont\s*/([\w+-]+)", data))
    assert names and all(b"+" in n for n in names), names  # subset tags: ABCDEF+Name
    if shutil.which("pdffonts"):
        path = tmp_path / "card.pdf"
        path.write_bytes(data)
        listing = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                                 check=True).stdout.splitlines()[2:]
        assert listing and all(" yes yes yes " in line for line in listing), listing


def test_font_search_finds_truetype_outlines_only() -> None:
    font = find_cjk_font()
    assert Path(font.path).is_file()
    assert pdf_module._truetype_outlines(Path(font.path))
    noto = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
    if noto.exists():  # CFF outlines: reportlab cannot embed them
        assert not pdf_module._truetype_outlines(noto)


def test_no_font_gives_an_error_naming_the_package(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(FontMissingError) as missing:
        find_cjk_font((str(tmp_path),))
    assert FONT_PACKAGE in str(missing.value) and missing.value.package == FONT_PACKAGE
    monkeypatch.setattr(pdf_module, "FONT_DIRS", (str(tmp_path),))
    with pytest.raises(FontMissingError):
        build_pdf(card())
