"""A database outage answers 503s (an envelope for the API, a page for people) and heals by itself.

The platform runs as in production, gunicorn and a qcluster (on the database broker), against its
own PostgreSQL database reached through a TCP proxy that this test can cut, as a database restart
or a network fault would.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from cluster_fixtures import free_port
from conftest import PASSWORD

from project.env import database_from_url

ROOT = Path(__file__).resolve().parent.parent
CONNECT_TIMEOUT = 2
# No control socket: it would live in the home folder, shared with any other gunicorn there.
GUNICORN = [sys.executable, "-m", "gunicorn", "project.wsgi", "--no-control-socket"]
pytestmark = pytest.mark.slow


class Proxy:
    """A TCP relay on 127.0.0.1 to PostgreSQL that can be cut, silenced and restored."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.silent = False
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.listener: socket.socket | None = None
        self.listen()

    def listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: the proxy is cut
            self._track(client)
            if self.silent:
                continue  # accepted, never answered: a database that hangs
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                self._close(client)
                continue
            upstream.settimeout(None)
            self._track(upstream)
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._close(source)
            self._close(sink)

    def _track(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.add(sock)

    def _close(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def _drop_connections(self) -> None:
        with self.lock:
            open_sockets = list(self.sockets)
        for sock in open_sockets:
            self._close(sock)

    def cut(self) -> None:
        """Every connection closed and new ones refused, as when the database server stops."""
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            self.listener.close()
            self.listener = None
        self._drop_connections()

    def silence(self) -> None:
        """Every connection closed; new ones accepted but never answered."""
        self.silent = True
        self._drop_connections()

    def restore(self) -> None:
        self.silent = False
        self._drop_connections()  # connections accepted while silent were never relayed
        if self.listener is None:
            self.listen()


@dataclass
class Platform:
    url: str
    proxy: Proxy
    token: str
    log: Path
    cluster: subprocess.Popen
    cluster_log: Path
    direct_url: str

    def rows(self, query: str) -> list[tuple]:
        """A query straight to the database (not through the proxy), for what a failure shows."""
        with psycopg.connect(self.direct_url) as connection:
            return connection.execute(query).fetchall()

    def api(self, path: str = "/v1/models") -> httpx.Response:
        return httpx.get(self.url + path, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def postgres_server() -> dict:
    """The PostgreSQL server the suite uses in CI, or the local one."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    return database_from_url(url)


def postgres_url(server: dict, name: str, host: str, port: int) -> str:
    auth = server["USER"] + (f":{server['PASSWORD']}" if server["PASSWORD"] else "")
    return f"postgres://{auth}@{host}:{port}/{name}"


@contextlib.contextmanager
def throwaway_database(server: dict) -> Iterator[str]:
    name = f"outage_{secrets.token_hex(4)}"
    admin = {
        "host": server["HOST"] or "127.0.0.1",
        "port": int(server["PORT"] or 5432),
        "user": server["USER"],
        "password": server["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**admin) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(**admin) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp("outage")
    server = postgres_server()
    host, port = server["HOST"] or "127.0.0.1", int(server["PORT"] or 5432)
    with throwaway_database(server) as name:
        proxy = Proxy((host, port))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_ALLOW"))}
        env.update(
            {
                "DATABASE_URL": postgres_url(server, name, host, port),
                "DATA_DIR": str(tmp / "data"),
                "DEBUG": "true",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "REDIS_URL": "",
                "S3_BUCKET": "",
                "DATABASE_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
                "LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            }
        )
        web_port = free_port()
        env["EMULATOR_BASE_URL"] = f"http://127.0.0.1:{web_port}/emulator"
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True, timeout=300)
        make_alice = (
            "from accounts.models import User; from accounts.services import api_token_create; "
            f"alice = User.objects.create_user('alice', 'alice@example.org', {PASSWORD!r}); "
            "print(api_token_create(user=alice, name='outage').raw)"
        )
        created = subprocess.run(
            [*manage, "shell", "-c", make_alice], env=env, cwd=ROOT, check=True, timeout=120, capture_output=True
        )
        token = created.stdout.decode().strip().splitlines()[-1]

        # The web application reaches the database only through the proxy; two workers, each
        # keeping its connection between requests (CONN_MAX_AGE), as in production.
        env["DATABASE_URL"] = postgres_url(server, name, "127.0.0.1", proxy.port)
        log, cluster_log = tmp / "gunicorn.log", tmp / "qcluster.log"
        with open(log, "ab") as output:
            process = subprocess.Popen(
                [*GUNICORN, "--bind", f"127.0.0.1:{web_port}", "--workers", "2"],
                env=env,
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        cluster_env = {**env, "Q_WORKERS": "2", "PIPELINE_FIRST_POLL_SECONDS": "0.3", "PIPELINE_MAX_POLL_SECONDS": "1"}
        with open(cluster_log, "ab") as output:
            cluster = subprocess.Popen(
                [*manage, "qcluster"],
                env=cluster_env,
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        running = Platform(
            url=f"http://127.0.0.1:{web_port}",
            proxy=proxy,
            token=token,
            log=log,
            cluster=cluster,
            cluster_log=cluster_log,
            direct_url=postgres_url(server, name, host, port),
        )
        try:
            for _ in range(150):
                assert process.poll() is None, running.log_text()
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(running.url + "/healthz", timeout=5).status_code == 200:
                        break
                time.sleep(0.2)
            yield running
        finally:
            for child in (process, cluster):
                os.killpg(child.pid, signal.SIGTERM)
            for child in (process, cluster):
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait(timeout=10)
            proxy.cut()


def logged_in(platform: Platform) -> httpx.Client:
    browser = httpx.Client(base_url=platform.url, timeout=30)
    csrf = browser.get("/accounts/login/").cookies["csrftoken"]
    response = browser.post(
        "/accounts/login/", data={"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": csrf}
    )
    assert response.status_code == 302, response.text
    return browser


def assert_unavailable_envelope(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {
        "error": {
            "message": "The service is briefly unavailable. Try again in a few seconds.",
            "type": "server_error",
            "param": None,
            "code": "service_unavailable",
        }
    }
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "private, no-store"


def assert_unavailable_page(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Briefly unavailable" in response.text
    assert "Traceback" not in response.text
    assert response.headers["Retry-After"] == "5"


def assert_everything_works(platform: Platform, browser: httpx.Client) -> None:
    # Several times, so each gunicorn worker has served at least one request (most likely).
    for _ in range(4):
        assert platform.api("/v1/models").status_code == 200
        assert platform.api("/v1/videos").json()["object"] == "list"
        page = browser.get("/videos/")
        assert page.status_code == 200
        assert "alice" in page.text
    assert httpx.get(platform.url + "/healthz").json()["status"] == "ok"


def test_a_stopped_database_answers_503s_and_the_platform_heals_without_a_restart(platform):
    browser = logged_in(platform)
    assert_everything_works(platform, browser)

    platform.proxy.cut()
    try:
        for _ in range(4):
            assert_unavailable_envelope(platform.api("/v1/models"))
            assert_unavailable_envelope(platform.api("/v1/videos"))
            assert_unavailable_page(browser.get("/videos/"))
        health = httpx.get(platform.url + "/healthz")
        assert health.status_code == 503
        checks = health.json()["checks"]
        assert checks["database"] == {"ok": False, "detail": "failed (OperationalError)"}
        assert checks["cluster"]["detail"] == "not checked: the database is unavailable"
    finally:
        platform.proxy.restore()

    # The first requests after the outage already succeed: no process was restarted.
    assert_everything_works(platform, browser)
    # One warning line per failed request, naming the cause; no traceback, no error.
    log = platform.log_text()
    assert "Traceback" not in log, log[-3000:]
    assert " ERROR " not in log, log[-3000:]
    refused = re.findall(r" WARNING project\.outage Database unavailable, answered 503 to GET (\S+): .*refused", log)
    assert sorted(refused) == sorted(["/v1/models", "/v1/videos", "/videos/"] * 4), log[-3000:]


def test_a_database_that_stops_answering_gets_503s_within_the_connect_timeout(platform):
    browser = logged_in(platform)
    platform.proxy.silence()
    try:
        started = time.monotonic()
        assert_unavailable_envelope(platform.api("/v1/models"))
        assert_unavailable_page(browser.get("/videos/"))
        health = httpx.get(platform.url + "/healthz", timeout=30)
        elapsed = time.monotonic() - started
        assert health.status_code == 503
        assert not health.json()["checks"]["database"]["ok"]
        # Three requests, each waiting one connect timeout, not psycopg's default 130 s.
        assert elapsed < 3 * (CONNECT_TIMEOUT + 2), elapsed
    finally:
        platform.proxy.restore()
    assert_everything_works(platform, browser)


def made(platform: Platform, prompt: str, *, timeout: float = 90) -> dict:
    """A video made through the API by the cluster, to the end: its last answer."""
    answer = httpx.post(
        platform.url + "/v1/videos",
        headers={"Authorization": f"Bearer {platform.token}"},
        json={"model": "sora-2", "prompt": prompt, "size": "1280x720", "seconds": "4"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    video = answer.json()
    end = time.monotonic() + timeout
    while video["status"] not in ("completed", "failed") and time.monotonic() < end:
        time.sleep(0.5)
        with contextlib.suppress(httpx.TransportError):
            found = platform.api(f"/v1/videos/{video['id']}")
            if found.status_code == 200:
                video = found.json()
    return video


def test_the_cluster_carries_on_after_the_database_returns_without_a_restart(platform):
    before = made(platform, "a lighthouse [emulator:queue=0,generation=1]")
    assert before["status"] == "completed", (before, platform.cluster_log.read_text(errors="replace")[-3000:])
    # A video in the middle of its work when the database goes away, for longer than a poll.
    during = httpx.post(
        platform.url + "/v1/videos",
        headers={"Authorization": f"Bearer {platform.token}"},
        json={
            "model": "sora-2",
            "prompt": "a kite [emulator:queue=0,generation=6]",
            "size": "1280x720",
            "seconds": "4",
        },
        timeout=30,
    ).json()
    time.sleep(1)
    platform.proxy.cut()
    time.sleep(8)
    platform.proxy.restore()
    after = made(platform, "a harbour [emulator:queue=0,generation=1]")
    tail = platform.cluster_log.read_text(errors="replace")[-4000:]
    state = platform.rows(
        "select id, state, provider_id, submit_started_at, lease_owner, lease_expires_at, next_step_at from videos_video"
    ) + platform.rows("select * from videos_providerstate")
    assert after["status"] == "completed", (after, state, tail)
    end = time.monotonic() + 60
    while (found := platform.api(f"/v1/videos/{during['id']}").json())["status"] != "completed":
        assert time.monotonic() < end, (found, tail)
        time.sleep(0.5)
    assert platform.cluster.poll() is None  # the same cluster process throughout
