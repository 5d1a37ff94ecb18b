"""`make run`'s server on a fresh data folder: migrate, then the web server and the cluster."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_fresh_install_serves_sign_up_and_a_new_user_gets_a_token(tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "S3_BUCKET", "DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update({"DATA_DIR": str(tmp_path), "PORT": str(port)})
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True, timeout=120)
    server = subprocess.Popen(
        [*manage, "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                signup = httpx.get(base + "/accounts/signup/")
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert signup.status_code == 200
        assert b"Create your account" in signup.content

        with httpx.Client(base_url=base, follow_redirects=False) as browser:
            csrf = browser.get("/accounts/signup/").cookies["csrftoken"]
            data = {"username": "newbie", "email": "newbie@example.org", "password1": PASSWORD, "password2": PASSWORD}
            response = browser.post(
                "/accounts/signup/", data={**data, "csrfmiddlewaretoken": csrf}, headers={"Referer": base}
            )
            assert response.status_code == 302
            csrf = browser.cookies["csrftoken"]
            response = browser.post(
                "/accounts/tokens/", data={"name": "first", "csrfmiddlewaretoken": csrf}, headers={"Referer": base}
            )
            assert response.status_code == 302
            page = browser.get("/accounts/tokens/").text
        raw = re.search(r'value="(vp_[^"]+)"', page).group(1)
        assert httpx.get(base + "/v1/models", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    finally:
        os.killpg(server.pid, signal.SIGINT)
        output = server.communicate(timeout=30)[0].decode(errors="replace")
    assert server.returncode == 0, output
    # The cluster ran beside the web server.
    assert "Q Cluster" in output or "qcluster" in output.lower(), output[-2000:]
