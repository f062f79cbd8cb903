"""Object stores for the contract suite: local disk, and S3 on moto's server over real HTTP."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from reelhouse.storage.local import LocalObjectStore
from reelhouse.storage.protocols import ObjectStore
from reelhouse.storage.s3 import S3ObjectStore

BUCKET = "reelhouse-contract"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port, with one bucket, driven like AWS."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS)
    client.create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


def s3_store(endpoint: str, *, bucket: str = BUCKET, prefix: str | None = None) -> S3ObjectStore:
    return S3ObjectStore(
        bucket,
        f"tests/{secrets.token_hex(6)}" if prefix is None else prefix,
        endpoint_url=endpoint,
        region="us-east-1",
        access_key=CREDENTIALS["aws_access_key_id"],
        secret_key=CREDENTIALS["aws_secret_access_key"],
    )


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """Each test gets an empty store: a new directory, or a new prefix in the shared bucket."""
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    endpoint: str = request.getfixturevalue("s3_endpoint")
    return s3_store(endpoint)
