"""Stored files (snapshots, photos) by content hash: ``GET /media/<sha256>``.

Files live under the media folder as ``ab/cd/<sha256>.<ext>`` (see ``data.ingest``); the
``attachments`` row gives the type. Signed-in staff only (the guard in ``api.auth``); the
bytes never change for a hash, so browsers may keep them for a year.
"""

from __future__ import annotations

import re

import flask

from data.models import Attachment
from services import get_services

bp = flask.Blueprint("media", __name__)

SHA256 = re.compile(r"^[0-9a-f]{64}$")
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def media_url(sha256: str | None) -> str | None:
    """The URL of a stored file (None for none)."""
    return f"/media/{sha256}" if sha256 else None


@bp.route("/media/<sha256>")
def media(sha256: str) -> flask.Response:
    if not SHA256.match(sha256):
        flask.abort(404)
    services = get_services()
    with services.session() as session:
        found = session.get(Attachment, sha256)
        mime = found.mime if found is not None else None
    if mime is None:
        flask.abort(404)
    folder = services.settings.media_dir / sha256[:2] / sha256[2:4]
    path = folder / f"{sha256}.{EXTENSIONS.get(mime, 'bin')}"
    if not path.is_file():
        flask.abort(404)
    response = flask.send_file(path, mimetype=mime, max_age=365 * 86400, conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
