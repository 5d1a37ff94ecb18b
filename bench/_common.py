"""A throw-away install of the platform on loopback, shared by the benchmarks.

Each run gets its own data folder (SQLite database, media, file cache), or its own PostgreSQL
database created on the server given with --database-url and dropped at the end, and starts
its processes (gunicorn, qcluster, moto's S3 server) the way production does: as separate
processes configured through the environment. Everything is removed when the run ends.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
EMULATOR_KEY = "bench-emulator-key"
S3_BUCKET = "bench-videos"
# Settings a developer's shell may hold that would change what is measured.
INHERITED = ("S3_", "Q_", "PIPELINE_", "EMULATOR_", "USER_", "DATABASE_", "REDIS_", "API_RATE", "SECURE_")
INHERITED_NAMES = {"DEBUG", "SECRET_KEY", "DATA_DIR", "ALLOWED_HOSTS", "CONTENT_DELIVERY", "DJANGO_SETTINGS_MODULE"}

sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def wait_for_http(url: str, *, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode} while starting")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


class Platform:
    """The platform with production settings (DEBUG=false) and the emulator switched on.

    Use as a context manager. Unless django=False, the database is migrated and Django is set
    up in this process against it, so a benchmark can create rows and read results through the
    ORM; with django=False it only provides the folder, the environment and the processes.
    """

    def __init__(
        self,
        *,
        database_url: str | None = None,
        s3: bool = False,
        env: dict[str, str] | None = None,
        django: bool = True,
    ):
        if database_url and not database_url.startswith(("postgres://", "postgresql://")):
            raise SystemExit("--database-url must be a PostgreSQL server: postgres://user[:password]@host:port")
        self.tmp = Path(tempfile.mkdtemp(prefix="videos-bench-"))
        self.web_port = free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.processes: list[subprocess.Popen] = []
        self.server_url = database_url
        self.run_id = secrets.token_hex(4)
        self.databases: list[str] = []  # created on the PostgreSQL server, dropped at the end
        self.django = django
        self.s3_port = free_port() if s3 else None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED) and k not in INHERITED_NAMES}
        self.env.update(
            {
                "DJANGO_SETTINGS_MODULE": "project.settings",
                "DATA_DIR": str(self.tmp / "data"),
                "DEBUG": "false",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback
                "EMULATOR_ENABLED": "true",
                "EMULATOR_API_KEY": EMULATOR_KEY,
                "EMULATOR_BASE_URL": f"{self.url}/emulator",
                "LOG_LEVEL": "WARNING",
                "TMPDIR": str(self.tmp),  # moto spools large objects to temporary files
            }
        )
        if self.s3_port:
            self.env.update(
                {
                    "S3_BUCKET": S3_BUCKET,
                    "S3_ENDPOINT_URL": f"http://127.0.0.1:{self.s3_port}",
                    "S3_REGION": "us-east-1",
                    "S3_ACCESS_KEY_ID": "testing",
                    "S3_SECRET_ACCESS_KEY": "testing",
                    "S3_ADDRESSING_STYLE": "path",
                }
            )
        self.env.update(env or {})

    # --- life cycle ----------------------------------------------------------------------

    def __enter__(self) -> Platform:
        # A plain `kill` of the benchmark cleans up too, as Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        try:
            (self.tmp / "data" / "static").mkdir(parents=True)
            if self.server_url and self.django:
                self.env["DATABASE_URL"] = self.database()
            if self.s3_port:
                self.spawn("moto", [PY, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.s3_port)])
                wait_for_http(f"http://127.0.0.1:{self.s3_port}/", process=self.processes[-1])
                self.s3_client().create_bucket(Bucket=S3_BUCKET)
            if self.django:
                os.environ.clear()
                os.environ.update(self.env)
                import django
                from django.core.management import call_command

                django.setup()
                call_command("migrate", verbosity=0)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        for process in reversed(self.processes):
            self.stop(process)
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        for name in self.databases:
            try:
                self._admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as error:  # keep cleaning up; say what is left behind
                print(f"warning: could not drop database {name}: {error}", file=sys.stderr)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- processes -----------------------------------------------------------------------

    def spawn(self, name: str, command: list[str], **env: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 (the child owns it)
        process = subprocess.Popen(
            command, cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.processes.append(process)
        return process

    def start_web(
        self, *, workers: int = 2, threads: int = 1, port: int | None = None, name: str = "gunicorn", **env: str
    ) -> str:
        """gunicorn as README.md deploys it (threads > 1 picks the gthread worker); returns its URL."""
        port = port or self.web_port
        command = [PY, "-m", "gunicorn", "project.wsgi", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", str(workers), "--timeout", "600"]
        if threads > 1:
            command += ["--worker-class", "gthread", "--threads", str(threads)]
        process = self.spawn(name, command, **env)
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process=process)
        return f"http://127.0.0.1:{port}"

    def start_cluster(self, **env: str) -> subprocess.Popen:
        return self.spawn("qcluster", [PY, str(ROOT / "manage.py"), "qcluster"], **env)

    @staticmethod
    def stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                # A qcluster lets a running poll loop finish its cycle budget; do not wait it out.
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    # --- storage and database ------------------------------------------------------------

    def s3_client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.s3_port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 (moto accepts any key)
            config=Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required"),
        )

    def database(self, suffix: str = "") -> str:
        """The URL of a new, empty database of this run: on the PostgreSQL server when one was
        given (dropped at the end), else an SQLite file in the data folder."""
        if not self.server_url:
            return f"sqlite:///{self.tmp}/data/db{suffix}.sqlite3"
        name = f"bench_{self.run_id}{suffix}"
        self._admin_sql(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return urlsplit(self.server_url)._replace(path=f"/{name}", query="").geturl()

    def _admin_sql(self, statement: str) -> None:
        import psycopg

        parts = urlsplit(self.server_url or "")
        with psycopg.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or "") or None,
            dbname="postgres",
            autocommit=True,
        ) as connection:
            connection.execute(statement)
