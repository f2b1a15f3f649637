"""boto3 clients and the small S3 helpers the AWS commands share."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from lakeprep.errors import UsageError


def client(service: str, region: str | None = None, endpoint: str | None = None) -> Any:
    """The one boto3 client factory: credentials from the standard AWS chain; the endpoint is
    ``endpoint`` when given (the lake's S3 endpoint, ``s3.endpoint`` in conf), else what boto3
    finds itself (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``, or AWS)."""
    import boto3

    return boto3.session.Session(region_name=region or None).client(
        service, **({"endpoint_url": endpoint} if endpoint else {}))


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``("bucket", "key")``; anything else is a usage error."""
    u = urlparse(uri)
    if u.scheme not in ("s3", "s3a") or not u.netloc:
        raise UsageError(f"expected an s3://bucket/key URI, found {uri!r}")
    return u.netloc, u.path.lstrip("/")
