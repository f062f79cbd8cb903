"""Objects in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, moto), through boto3.

boto3 is synchronous, so every call runs in the executor and the event loop never waits on the
network. A store owns one client (boto3 clients are thread-safe) built from explicit settings;
unset credentials and region fall back to boto3's usual chain (environment, profile, instance
role). With ``endpoint_url`` set, requests use path-style addressing (``endpoint/bucket/key``),
which every S3-compatible server understands, and checksums are sent only where S3 requires
them, since some of those servers reject the newer CRC headers.

``put_file`` and ``download_to`` use boto3's managed transfers: files from 8 MiB up go as
multipart uploads of 8 MiB parts, several at a time (their ETag is then not an MD5). Ranges are
one ``GetObject`` with a ``Range`` header, read in 1 MiB chunks. Errors are translated in one
place (:func:`_translate`): ``NoSuchKey``/404 become ``ObjectNotFound``, everything else a
``StorageError`` with the botocore exception chained. A HEAD request cannot tell a missing key
from a missing bucket, so ``stat`` reports both as ``ObjectNotFound``.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import urllib.parse
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import boto3  # type: ignore[import-untyped, unused-ignore]
from boto3.exceptions import Boto3Error  # type: ignore[import-untyped, unused-ignore]
from boto3.s3.transfer import TransferConfig  # type: ignore[import-untyped, unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]
from botocore.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    BotoCoreError,
    ClientError,
)

from reelhouse.storage.content_types import guess_content_type
from reelhouse.storage.errors import (
    InvalidKey,
    InvalidRange,
    MultipartNotFound,
    ObjectNotFound,
    StorageError,
)
from reelhouse.storage.keys import MAX_KEY_BYTES, is_valid_key, validate_key, validate_prefix
from reelhouse.storage.protocols import ObjectInfo, UploadedPart
from reelhouse.storage.ranges import LockedReader, check_range

P = ParamSpec("P")
T = TypeVar("T")

CHUNK_SIZE = 1 << 20
MULTIPART_THRESHOLD = 8 << 20
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
MAX_PART_NUMBER = 10_000
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
_TRANSLATED = (ClientError, BotoCoreError, Boto3Error, OSError)


class S3ObjectStore:
    """An :class:`~reelhouse.storage.protocols.ObjectStore` with :class:`Presigning` and
    :class:`Multipart`, keeping its objects under ``prefix`` in ``bucket``."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.bucket = bucket
        prefix = prefix.strip("/")
        self.prefix = validate_key(prefix) + "/" if prefix else ""
        self._executor = executor
        session = boto3.session.Session(
            aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=region
        )
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            retries={"mode": "standard", "max_attempts": 5},
            max_pool_connections=32,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._client: Any = session.client("s3", endpoint_url=endpoint_url, config=config)
        self._transfer: Any = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD,
            multipart_chunksize=MULTIPART_THRESHOLD,
            max_concurrency=4,
        )

    # -- ObjectStore -----------------------------------------------------------------------

    async def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type or guess_content_type(key)}
        await self._call(
            key,
            self._client.upload_file,
            str(path),
            self.bucket,
            self._full(key),
            ExtraArgs=extra,
            Config=self._transfer,
        )

    async def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        await self._call(
            key,
            self._client.put_object,
            Bucket=self.bucket,
            Key=self._full(key),
            Body=data,
            ContentType=content_type or guess_content_type(key),
        )

    async def get_bytes(self, key: str) -> bytes:
        def read() -> bytes:
            response = self._client.get_object(Bucket=self.bucket, Key=self._full(key))
            with response["Body"] as body:
                data: bytes = body.read()
            return data

        return await self._call(key, read)

    async def open_range(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        check_range(start, end)
        params = {"Bucket": self.bucket, "Key": self._full(key)}
        if not (start == 0 and end is None):
            params["Range"] = f"bytes={start}-{'' if end is None else end}"
        response = await self._call(key, self._client.get_object, **params)
        body = LockedReader(response["Body"].read, response["Body"].close)
        try:
            while chunk := await self._call(key, body.read, CHUNK_SIZE):
                yield chunk
        finally:
            await self._call(key, body.close)

    async def stat(self, key: str) -> ObjectInfo:
        head = await self._call(
            key, self._client.head_object, Bucket=self.bucket, Key=self._full(key)
        )
        return ObjectInfo(
            key=key,
            size=int(head["ContentLength"]),
            etag=_unquote(head["ETag"]),
            content_type=head.get("ContentType"),
            modified=head["LastModified"],
        )

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except ObjectNotFound:
            return False
        return True

    async def delete(self, key: str) -> None:
        await self._call(key, self._client.delete_object, Bucket=self.bucket, Key=self._full(key))

    async def delete_prefix(self, prefix: str) -> int:
        if validate_prefix(prefix) == "":
            raise InvalidKey(prefix, "delete_prefix needs a non-empty prefix")
        removed = 0
        pages = self._pages(prefix)
        while (page := await self._call(prefix, next, pages, None)) is not None:
            objects = [{"Key": item["Key"]} for item in page.get("Contents", ())]
            if not objects:
                continue
            result = await self._call(
                prefix,
                self._client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": objects, "Quiet": True},
            )
            if errors := result.get("Errors"):
                first = errors[0]
                raise StorageError(
                    f"S3 refused to delete {len(errors)} objects under {prefix!r}, "
                    f"first {first.get('Key')!r}: {first.get('Code')} {first.get('Message')}"
                )
            removed += len(objects)
        return removed

    async def list(self, prefix: str = "") -> AsyncGenerator[ObjectInfo, None]:
        validate_prefix(prefix)
        pages = self._pages(prefix)
        while (page := await self._call(prefix, next, pages, None)) is not None:
            for item in page.get("Contents", ()):
                key = item["Key"][len(self.prefix) :]
                if is_valid_key(key):
                    yield ObjectInfo(
                        key=key,
                        size=int(item["Size"]),
                        etag=_unquote(item["ETag"]),
                        content_type=None,
                        modified=item["LastModified"],
                    )

    async def download_to(self, key: str, path: Path) -> None:
        # s3transfer writes to a temporary name beside ``path`` and renames it when complete.
        def download() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._client.download_file(
                self.bucket, self._full(key), str(path), Config=self._transfer
            )

        await self._call(key, download)

    # -- Presigning ------------------------------------------------------------------------

    async def presign_get(self, key: str, expires_in: int, *, filename: str | None = None) -> str:
        if not 1 <= expires_in <= MAX_PRESIGN_SECONDS:
            raise ValueError(f"expires_in must be 1..{MAX_PRESIGN_SECONDS} seconds")
        params = {"Bucket": self.bucket, "Key": self._full(key)}
        if filename is not None:
            params["ResponseContentDisposition"] = _attachment(filename)
        url: str = await self._call(
            key,
            self._client.generate_presigned_url,
            "get_object",
            Params=params,
            ExpiresIn=expires_in,
        )
        return url

    # -- Multipart -------------------------------------------------------------------------

    async def start_multipart(self, key: str, *, content_type: str | None = None) -> str:
        response = await self._call(
            key,
            self._client.create_multipart_upload,
            Bucket=self.bucket,
            Key=self._full(key),
            ContentType=content_type or guess_content_type(key),
        )
        upload_id: str = response["UploadId"]
        return upload_id

    async def upload_part(
        self, key: str, upload_id: str, part_number: int, data: bytes
    ) -> UploadedPart:
        if not 1 <= part_number <= MAX_PART_NUMBER:
            raise ValueError(f"part numbers run 1..{MAX_PART_NUMBER}, not {part_number}")
        response = await self._call(
            key,
            self._client.upload_part,
            Bucket=self.bucket,
            Key=self._full(key),
            UploadId=upload_id,
            PartNumber=part_number,
            Body=data,
        )
        return UploadedPart(part_number, _unquote(response["ETag"]), len(data))

    async def list_parts(self, key: str, upload_id: str) -> builtins.list[UploadedPart]:
        def list_parts() -> builtins.list[UploadedPart]:
            paginator = self._client.get_paginator("list_parts")
            pages = paginator.paginate(Bucket=self.bucket, Key=self._full(key), UploadId=upload_id)
            return [
                UploadedPart(int(part["PartNumber"]), _unquote(part["ETag"]), int(part["Size"]))
                for page in pages
                for part in page.get("Parts", ())
            ]

        return await self._call(key, list_parts)

    async def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[UploadedPart]
    ) -> str:
        ordered = sorted(parts, key=lambda part: part.part_number)
        response = await self._call(
            key,
            self._client.complete_multipart_upload,
            Bucket=self.bucket,
            Key=self._full(key),
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [{"PartNumber": p.part_number, "ETag": f'"{p.etag}"'} for p in ordered]
            },
        )
        return _unquote(response["ETag"])

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            await self._call(
                key,
                self._client.abort_multipart_upload,
                Bucket=self.bucket,
                Key=self._full(key),
                UploadId=upload_id,
            )
        except MultipartNotFound:
            return

    # -- the blocking side -----------------------------------------------------------------

    def _full(self, key: str) -> str:
        full = self.prefix + validate_key(key)
        if len(full.encode()) > MAX_KEY_BYTES:
            raise InvalidKey(key, f"with the store's prefix it exceeds {MAX_KEY_BYTES} bytes")
        return full

    def _pages(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("list_objects_v2")
        pages: Iterator[dict[str, Any]] = iter(
            paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix)
        )
        return pages

    async def _call(self, key: str, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` in the executor; botocore's exceptions become ours here, and only here."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._executor, functools.partial(fn, *args, **kwargs)
            )
        except _TRANSLATED as exc:
            raise _translate(exc, key) from exc


def _translate(exc: BaseException, key: str) -> StorageError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in _NOT_FOUND:
            return ObjectNotFound(key)
        if code == "InvalidRange":
            return InvalidRange(f"the range asked of {key!r} starts past its end")
        if code == "NoSuchUpload":
            return MultipartNotFound(f"no multipart upload in progress for {key!r}")
        return StorageError(f"S3 answered {code} for {key!r}: {error.get('Message', '')}")
    return StorageError(f"S3 request for {key!r} failed: {exc}")


def _unquote(etag: str) -> str:
    return etag.strip('"')


def _attachment(filename: str) -> str:
    """``Content-Disposition`` for a download named ``filename`` (RFC 6266 and RFC 8187)."""
    fallback = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "_" for c in filename)
    encoded = urllib.parse.quote(filename, safe="")
    return f"attachment; filename=\"{fallback or 'download'}\"; filename*=UTF-8''{encoded}"
