"""Photo checks by content (data.uploads.inspect_image): pure, no database."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from data.uploads import MAX_BYTES, UploadError, inspect_image


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(("fmt", "mime", "ext"), [("JPEG", "image/jpeg", "jpg"),
                                                  ("PNG", "image/png", "png"),
                                                  ("WEBP", "image/webp", "webp")])
def test_photos_are_recognised_by_content(fmt: str, mime: str, ext: str) -> None:
    info = inspect_image(image_bytes(fmt, (30, 20)))
    assert (info.mime, info.ext, info.width, info.height) == (mime, ext, 30, 20)


@pytest.mark.parametrize(("data", "code"), [
    (b"just some text, renamed photo.jpg", "unsupported_type"),
    (b"", "empty_file"),
    (b"GIF89a" + b"\0" * 40, "unsupported_type"),
])
def test_what_is_not_a_photo_is_refused(data: bytes, code: str) -> None:
    with pytest.raises(UploadError) as refused:
        inspect_image(data)
    assert refused.value.code == code
    assert refused.value.message and refused.value.message_zh


def test_other_image_formats_are_refused() -> None:
    for fmt in ("GIF", "BMP", "TIFF"):
        with pytest.raises(UploadError) as refused:
            inspect_image(image_bytes(fmt))
        assert refused.value.code == "unsupported_type", fmt


def test_a_truncated_photo_is_refused() -> None:
    whole = image_bytes("JPEG", (800, 600))
    with pytest.raises(UploadError) as refused:
        inspect_image(whole[: len(whole) // 2])
    assert refused.value.code == "corrupt_image"


def test_too_many_pixels_or_too_long_a_side_is_refused() -> None:
    with pytest.raises(UploadError) as refused:
        inspect_image(image_bytes("PNG", (12_001, 2)))
    assert refused.value.code == "bad_dimensions"
    assert "12001" in refused.value.message


def test_more_than_ten_megabytes_is_refused_before_decoding() -> None:
    with pytest.raises(UploadError) as refused:
        inspect_image(b"\xff\xd8" + b"\0" * MAX_BYTES)
    assert refused.value.code == "too_large"
    assert "10 MB" in refused.value.message
