"""The moto server the tests share (one per worker, see ``tests/conftest.py``) and its helpers."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

# moto's server in a process of its own: deltalake holds the GIL while it waits for S3, so a
# server thread inside the test process could not answer it
_SERVER = """
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # until the owner closes our stdin
server.stop()
"""
KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1"}


@contextmanager
def serve() -> Iterator[str]:
    """A moto server on 127.0.0.1 in its own process; yields its endpoint URL."""
    server = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        yield f"http://127.0.0.1:{int(server.stdout.readline())}"
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=60)


def make_bucket(endpoint: str, bucket: str) -> None:
    """Create ``bucket`` on the moto server at ``endpoint`` (nothing if it exists)."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
    try:
        client.create_bucket(Bucket=bucket)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass


def reset(endpoint: str) -> None:
    """Empty the moto server: every bucket, Glue job, EMR step and run goes."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def enforce_iam(endpoint: str) -> None:
    """Switch on IAM access control on the moto server at ``endpoint``: from the next request
    on, every call needs the access key of an IAM user whose policies allow it.

    This sets moto's ``INITIAL_NO_AUTH_ACTION_COUNT`` (the number of requests served before
    access control starts) to 0 through moto's ``/moto-api/reset-auth``, once the account is
    set up, rather than counting the set-up requests in advance. The setting is the whole
    server's: use it on a moto server of its own (``serve()``), never the shared one.
    """
    # a body without a content type would go as a form (urllib's default), which the server
    # parses away: moto then reads an empty count
    request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0",
                                     method="POST", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
