"""Where a video's files live, and how they get there without ever showing half a file.

Keys are private and made by the server: `videos/<owner id>/<video id>/<variant>/<kind>.<ext>`.
Writers stream with bounded memory and publish atomically: on S3 a multipart upload becomes
visible only when completed (a crashed writer leaves an incomplete upload, which the sweeper
aborts); on the filesystem a temporary file in the same folder is renamed into place.
"""

from __future__ import annotations

import abc
import hashlib
import logging
import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.utils import timezone

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage

logger = logging.getLogger("videos.storage")

EXTENSIONS = {
    "video/mp4": "mp4",
    "image/webp": "webp",
    "image/jpeg": "jpg",
    "image/jpg": "jpg",
    "image/png": "png",
}
DEFAULT_EXTENSION = {"video": "mp4", "thumbnail": "webp", "spritesheet": "jpg"}
CANONICAL_TYPES = {"mp4": "video/mp4", "webp": "image/webp", "jpg": "image/jpeg", "png": "image/png"}
PARTIAL_MARKER = ".part-"


def video_prefix(owner_id: int, video_id: str) -> str:
    return f"videos/{owner_id}/{video_id}/"


def asset_key(owner_id: int, video_id: str, variant: int, kind: str, content_type: str, *, revision: str = "") -> str:
    """`revision` names a replacement copy, written beside the one it replaces."""
    extension = EXTENSIONS.get(content_type) or DEFAULT_EXTENSION[kind]
    name = f"{kind}-{revision}" if revision else kind
    return f"{video_prefix(owner_id, video_id)}{variant}/{name}.{extension}"


def input_image_key(owner_id: int, video_id: str, content_type: str, *, name: str = "input") -> str:
    return f"{video_prefix(owner_id, video_id)}{name}.{EXTENSIONS.get(content_type, 'bin')}"


def stored_content_type(kind: str, key: str, declared: str) -> str:
    """The type we serve: the declared one when specific, else the one our key's extension says."""
    if declared in CANONICAL_TYPES.values():
        return declared
    return CANONICAL_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")


def is_s3() -> bool:
    return default_storage.__class__.__name__ == "S3Storage"


def _s3() -> S3Storage:
    return cast("S3Storage", default_storage)


def _bucket() -> str:
    return _s3().bucket_name


def _s3_client() -> Any:
    return _s3().connection.meta.client


class ArchiveWriter(abc.ABC):
    """Streams one object into storage; `commit()` publishes it, `abort()` leaves nothing."""

    def __init__(self, key: str, content_type: str) -> None:
        self.key = key
        self.content_type = content_type
        self.size = 0
        self._sha256 = hashlib.sha256()

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def write(self, chunk: bytes) -> None:
        self._sha256.update(chunk)
        self.size += len(chunk)
        self._write(chunk)

    @abc.abstractmethod
    def _write(self, chunk: bytes) -> None: ...

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def abort(self) -> None: ...


class FileArchiveWriter(ArchiveWriter):
    def __init__(self, key: str, content_type: str) -> None:
        super().__init__(key, content_type)
        self.path = Path(default_storage.path(key))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.partial = self.path.with_name(f"{self.path.name}{PARTIAL_MARKER}{uuid.uuid4().hex}")
        self._file = open(self.partial, "wb")  # noqa: SIM115 (closed in commit/abort)

    def _write(self, chunk: bytes) -> None:
        self._file.write(chunk)

    def commit(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.partial, self.path)

    def abort(self) -> None:
        self._file.close()
        self.partial.unlink(missing_ok=True)


class S3ArchiveWriter(ArchiveWriter):
    """A multipart upload holding at most one part in memory."""

    def __init__(self, key: str, content_type: str) -> None:
        super().__init__(key, content_type)
        self.client = _s3_client()
        self.bucket = _bucket()
        self.part_bytes = settings.PIPELINE_PART_BYTES
        # Only the lease holder writes this key: an unfinished upload of it was left by a
        # worker that died, so it is aborted rather than left to the stale-upload sweep.
        for stale in self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=key).get("Uploads", []):
            if stale["Key"] == key:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=stale["UploadId"])
        upload = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=key, ContentType=content_type, CacheControl="private, no-store"
        )
        self.upload_id = upload["UploadId"]
        self.parts: list[dict] = []
        self._buffer = bytearray()

    def _write(self, chunk: bytes) -> None:
        self._buffer += chunk
        while len(self._buffer) >= self.part_bytes:
            self._upload_part(bytes(self._buffer[: self.part_bytes]))
            del self._buffer[: self.part_bytes]

    def _upload_part(self, body: bytes) -> None:
        number = len(self.parts) + 1
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def commit(self) -> None:
        if self._buffer or not self.parts:
            self._upload_part(bytes(self._buffer))
            self._buffer.clear()
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )

    def abort(self) -> None:
        self._buffer.clear()
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
        except Exception:  # the sweeper aborts what is left behind
            logger.warning("could not abort upload %s of %s", self.upload_id, self.key, exc_info=True)


def open_writer(key: str, content_type: str) -> ArchiveWriter:
    if is_s3():
        return S3ArchiveWriter(key, content_type)
    if isinstance(default_storage, FileSystemStorage):
        return FileArchiveWriter(key, content_type)
    raise RuntimeError(f"unsupported storage backend {default_storage.__class__.__name__}")


def save_bytes(key: str, data: bytes, content_type: str) -> None:
    """Store a small object (a start frame) atomically."""
    writer = open_writer(key, content_type)
    try:
        writer.write(data)
        writer.commit()
    except BaseException:
        writer.abort()
        raise


def delete_key(key: str) -> None:
    """Delete one object of a video's folder (a copy that was replaced)."""
    if not key.startswith("videos/"):
        raise ValueError(f"refusing to delete outside the videos folder: {key!r}")
    default_storage.delete(key)


def object_size(key: str) -> int | None:
    """The stored size of a key, or None when there is no such object."""
    try:
        if is_s3():
            return _s3_client().head_object(Bucket=_bucket(), Key=key)["ContentLength"]
        return default_storage.size(key)
    except Exception:
        return None


def delete_prefix(prefix: str) -> int:
    """Delete every object under a prefix, and any unfinished upload there. Returns the count."""
    if not prefix.startswith("videos/") or not prefix.endswith("/"):
        raise ValueError(f"refusing to delete outside a video's folder: {prefix!r}")
    count = 0
    if is_s3():
        client, bucket = _s3_client(), _bucket()
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
                count += len(keys)
        for upload in client.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", []):
            client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        return count
    root = Path(default_storage.path(prefix))
    if root.exists():
        for path in sorted(root.rglob("*"), reverse=True):
            if path.is_file():
                path.unlink()
                count += 1
            else:
                path.rmdir()
        root.rmdir()
    return count


def abort_stale_uploads(older_than: timedelta) -> int:
    """Remove what crashed writers left: unfinished multipart uploads or partial files."""
    cutoff: datetime = timezone.now() - older_than
    removed = 0
    if is_s3():
        client, bucket = _s3_client(), _bucket()
        for upload in client.list_multipart_uploads(Bucket=bucket, Prefix="videos/").get("Uploads", []):
            if upload["Initiated"] < cutoff:
                client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                removed += 1
        return removed
    root = Path(default_storage.path("videos"))
    if not root.exists():
        return 0
    for path in root.rglob(f"*{PARTIAL_MARKER}*"):
        if datetime.fromtimestamp(path.stat().st_mtime, tz=cutoff.tzinfo) < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def signed_url(key: str, *, filename: str, content_type: str) -> str | None:
    """A short-lived URL for one object on S3 (None on filesystem storage: stream instead)."""
    if not is_s3():
        return None
    return _s3_client().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": _bucket(),
            "Key": key,
            "ResponseContentType": content_type,
            "ResponseContentDisposition": f'attachment; filename="{filename}"',
            "ResponseCacheControl": "private, no-store",
        },
        ExpiresIn=settings.S3_SIGNED_URL_TTL,
    )


def read_range(key: str, start: int, end: int, *, chunk_bytes: int = 512 * 1024):
    """Yield the bytes start..end (inclusive) of a stored object, a chunk at a time."""
    if is_s3():
        body = _s3_client().get_object(Bucket=_bucket(), Key=key, Range=f"bytes={start}-{end}")["Body"]
        try:
            yield from body.iter_chunks(chunk_bytes)
        finally:
            body.close()
        return
    remaining = end - start + 1
    with default_storage.open(key, "rb") as handle:
        handle.seek(start)
        while remaining > 0:
            chunk = handle.read(min(chunk_bytes, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
