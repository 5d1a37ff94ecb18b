"""A real S3-protocol server and real `qcluster` processes for the end-to-end tests.

The cluster processes share this test run's database (a file for SQLite, the test database
for PostgreSQL) and broker, and reach the emulator served by pytest-django's live server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class S3Server:
    """moto's standalone server on loopback; stop() and start() keep its contents."""

    port: int
    bucket: str = "videos-test"
    server: object = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    @property
    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                retries={"max_attempts": 1},
            ),
        )

    def keys(self, prefix: str = "") -> list[str]:
        answer = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in answer.get("Contents", []))

    def unfinished_uploads(self) -> list[str]:
        return [u["Key"] for u in self.client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])]

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def env(self) -> dict[str, str]:
        return {
            "S3_BUCKET": self.bucket,
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY_ID": "testing",
            "S3_SECRET_ACCESS_KEY": "testing",
            "S3_ADDRESSING_STYLE": "path",
        }

    def storage_setting(self) -> dict:
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": self.bucket,
                "endpoint_url": self.endpoint,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "client_config": Config(
                    s3={"addressing_style": "path"},
                    signature_version="s3v4",
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                ),
                "default_acl": None,
                "querystring_auth": True,
                "querystring_expire": 300,
            },
        }


@pytest.fixture
def s3(settings) -> Iterator[S3Server]:
    server = S3Server(port=free_port())
    server.start()
    server.client.create_bucket(Bucket=server.bucket)
    settings.STORAGES = {**settings.STORAGES, "default": server.storage_setting()}
    yield server
    with contextlib.suppress(Exception):  # the test may have stopped it already
        server.stop()


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class Cluster:
    env: dict[str, str]
    tmp: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self, count: int = 1, **extra: str) -> None:
        for index in range(count):
            log = open(self.tmp / f"qcluster-{len(self.processes)}-{index}.log", "ab")  # noqa: SIM115
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, str(ROOT / "manage.py"), "qcluster"],
                    env={**self.env, **extra},
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                # A poll loop finishes its cycle budget before a graceful exit; do not wait it out.
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes.clear()

    def logs(self) -> str:
        """What a failing test prints: every line about a task's work or trouble, then the tail
        (the broker's enqueue chatter alone would fill it)."""
        parts = []
        for path in sorted(self.tmp.glob("qcluster-*.log")):
            text = path.read_text(errors="replace")
            notable = [line for line in text.splitlines() if "Enqueued" not in line and "poll_loop" not in line]
            parts.append(f"--- {path.name}: {len(text.splitlines())} lines; without enqueues and poll loops:")
            parts.append("\n".join(notable[-150:]))
            parts.append(f"--- {path.name}, the tail:\n{text[-2000:]}")
        return "\n".join(parts)


@pytest.fixture(params=["orm"])
def broker(request) -> str:
    return request.param


@pytest.fixture
def cluster(broker, providers, s3, emulator, tmp_path, settings, monkeypatch) -> Iterator[Cluster]:
    """Start with cluster.start(); stopped at the end. Uses `broker` ("orm" or "redis")."""
    from django_q.brokers import get_broker
    from django_q.conf import Conf

    if broker == "redis":
        monkeypatch.setattr(Conf, "ORM", None)
        monkeypatch.setattr(Conf, "REDIS", REDIS_URL)
    else:
        monkeypatch.setattr(Conf, "ORM", "default")
    get_broker().purge_queue()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_ALLOW"))}
    env.update(s3.env())
    env.update(
        {
            "DATABASE_URL": database_url(),
            "REDIS_URL": REDIS_URL if broker == "redis" else "",
            "DATA_DIR": str(tmp_path / "cluster-data"),
            "DEBUG": "true",
            "SECRET_KEY": settings.SECRET_KEY,  # provider keys are encrypted with it
            "EMULATOR_API_KEY": settings.EMULATOR_API_KEY,
            "Q_WORKERS": "3",
            "Q_TIMEOUT": "60",
            "Q_RETRY_MARGIN": "30",
            "PIPELINE_FIRST_POLL_SECONDS": "0.3",
            "PIPELINE_MAX_POLL_SECONDS": "1",
            "PIPELINE_LOOP_SECONDS": "20",
            "PIPELINE_LEASE_SECONDS": "6",
            "PIPELINE_PART_BYTES": str(5 * 1024 * 1024),
            "LOG_LEVEL": "INFO",
        }
    )
    running = Cluster(env=env, tmp=tmp_path)
    yield running
    running.stop()
    get_broker().purge_queue()
