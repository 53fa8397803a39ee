"""Uploaded photos (现场照片): checked by their content, stored once by SHA-256.

A file is accepted only when Pillow reads it as a JPEG, PNG or WebP image — whatever its name
or the type the browser claimed — of at most :data:`MAX_BYTES` and within the pixel limits;
it is decoded in full, so a truncated or corrupt file is refused too. Accepted files live
under ``media_dir`` as ``ab/cd/<sha256>.<ext>`` (the layout ``api.media`` serves) with one
``attachments`` row; the same content uploaded twice is the same file and the same row.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from data.models import Attachment
from data.types import utcnow

MAX_BYTES = 10 * 1024 * 1024
#: Pixel limits: a 10-inch tablet's camera takes at most ~50 MP; larger is a bomb or a scan.
MAX_PIXELS = 50_000_000
MAX_SIDE = 12_000
MIN_SIDE = 1
#: Pillow format → (MIME type, file extension as ``api.media.EXTENSIONS`` names it).
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"),
           "WEBP": ("image/webp", "webp")}


class UploadError(ValueError):
    """A file that is refused: ``code`` for machines, messages a user can act on."""

    def __init__(self, code: str, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.code, self.message, self.message_zh = code, message, message_zh

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "message_zh": self.message_zh}


@dataclass(frozen=True)
class ImageInfo:
    """What the content says the file is."""

    mime: str
    ext: str
    width: int
    height: int


@dataclass(frozen=True)
class StoredUpload:
    sha256: str
    mime: str
    size: int
    width: int | None
    height: int | None
    #: False when the same content was stored before (same file, same row).
    created: bool

    @property
    def url(self) -> str:
        return f"/media/{self.sha256}"


def too_large(size: int) -> UploadError:
    mb = size / (1024 * 1024)
    return UploadError("too_large", f"the file is {mb:.1f} MB; photos may be at most "
                       f"{MAX_BYTES // (1024 * 1024)} MB — take it again at a lower resolution",
                       f"文件大小 {mb:.1f} MB，照片不能超过 {MAX_BYTES // (1024 * 1024)} MB，"
                       "请降低分辨率后重拍")


def inspect_image(data: bytes) -> ImageInfo:
    """Check ``data`` is a whole JPEG, PNG or WebP image within the limits; raise
    :class:`UploadError` saying what is wrong otherwise. Pure: no I/O but Pillow's decoding."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise UploadError("empty_file", "the file is empty; choose or take a photo again",
                          "文件为空，请重新选择或拍摄照片")
    if len(data) > MAX_BYTES:
        raise too_large(len(data))
    not_image = UploadError(
        "unsupported_type", "this file is not a JPEG, PNG or WebP photo (its content was "
        "checked, not its name); choose a photo", "该文件不是 JPEG、PNG 或 WebP 格式的照片"
        "（按文件内容检查，而非文件名），请选择照片")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
                fmt, (width, height) = image.format, image.size
                if fmt not in FORMATS:
                    raise not_image
                if (width * height > MAX_PIXELS or max(width, height) > MAX_SIDE
                        or min(width, height) < MIN_SIDE):
                    raise UploadError(
                        "bad_dimensions", f"the photo is {width}×{height} pixels; at most "
                        f"{MAX_SIDE} pixels a side and {MAX_PIXELS // 1_000_000} megapixels "
                        "are accepted", f"照片尺寸 {width}×{height} 像素，超出限制（每边不超过 "
                        f"{MAX_SIDE} 像素、总计不超过 {MAX_PIXELS // 1_000_000} 百万像素）")
                if fmt == "JPEG":
                    image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
                image.load()  # decode it all: a truncated or corrupt file fails here
    except UploadError:
        raise
    except UnidentifiedImageError:
        raise not_image from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadError("bad_dimensions", "the image has too many pixels to be a photo",
                          "图像像素过多，不是有效的照片") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UploadError("corrupt_image", f"the photo could not be read ({exc}); it may be "
                          "cut short — take or choose it again",
                          "照片无法读取，文件可能不完整，请重新拍摄或选择") from None
    mime, ext = FORMATS[fmt]
    return ImageInfo(mime, ext, width, height)


def media_path(media_dir: Path, sha256: str, ext: str) -> Path:
    return media_dir / sha256[:2] / sha256[2:4] / f"{sha256}.{ext}"


def _write_once(path: Path, data: bytes) -> None:
    if path.is_file() and path.stat().st_size == len(data):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{id(data)}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # atomic: a reader sees no file or the whole file


def _insert_ignore(session: Session, row: dict[str, object]) -> bool:
    """Insert the attachments row unless the hash is there (also against a concurrent
    upload of the same content)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = Attachment.__table__
    stmt = (insert(table).values(**row).on_conflict_do_nothing(index_elements=["sha256"])
            .returning(table.c.sha256))
    return session.connection().execute(stmt).first() is not None


def store_upload(session: Session, media_dir: Path, data: bytes, *,
                 uploaded_by: int | None, original_name: str | None = None) -> StoredUpload:
    """Check and store an uploaded photo in the caller's transaction (the file is written
    first, so a committed row always has its file). Raises :class:`UploadError`."""
    info = inspect_image(data)
    sha = hashlib.sha256(data).hexdigest()
    existing = session.get(Attachment, sha)
    _write_once(media_path(media_dir, sha, info.ext), data)
    if existing is not None:
        return StoredUpload(sha, existing.mime, existing.size, existing.width,
                            existing.height, created=False)
    name = (original_name or "").strip().replace("\\", "/").rsplit("/", 1)[-1][:200] or None
    created = _insert_ignore(session, dict(
        sha256=sha, mime=info.mime, size=len(data), original_name=name, width=info.width,
        height=info.height, uploaded_by=uploaded_by, created_at=utcnow()))
    return StoredUpload(sha, info.mime, len(data), info.width, info.height, created=created)


def known_attachments(session: Session, sha256s: list[str]) -> list[dict[str, str]]:
    """The stored files among ``sha256s`` (in the given order, each once) as attachments
    ``{"sha256", "mime"}`` — so that a hand-made request cannot attach a file that was never
    uploaded."""
    wanted = list(dict.fromkeys(s for s in sha256s if isinstance(s, str) and len(s) == 64))
    if not wanted:
        return []
    from sqlalchemy import select

    found = dict(session.execute(select(Attachment.sha256, Attachment.mime)
                                 .where(Attachment.sha256.in_(wanted))).all())
    return [{"sha256": s, "mime": found[s]} for s in wanted if s in found]
