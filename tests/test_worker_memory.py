"""A task worker that leaks memory is replaced before it grows into an out-of-memory kill."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
GIB_IN_KIB = 1024 * 1024


def settings_in_a_fresh_process(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    code = "import django; django.setup(); from django_q.conf import Conf; print(Conf.MAX_RSS)"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_ALLOW"))}
    environment.update({"DJANGO_SETTINGS_MODULE": "project.settings", "DATA_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_workers_are_recycled_past_one_gib_of_resident_memory_by_default(monkeypatch):
    from django_q import worker
    from django_q.conf import Conf

    assert settings.Q_CLUSTER["max_rss"] == GIB_IN_KIB
    assert Conf.MAX_RSS == GIB_IN_KIB
    # django-q2 compares the limit with getrusage's peak RSS, which Linux reports in KiB:
    # this test process is far below a GiB, and far above one KiB.
    assert worker.rss_check() is False
    monkeypatch.setattr(Conf, "MAX_RSS", 1)
    assert worker.rss_check() is True


def test_the_memory_limit_is_read_from_q_max_rss_kb(tmp_path):
    assert settings_in_a_fresh_process(tmp_path, Q_MAX_RSS_KB="2097152").stdout.strip() == "2097152"
    assert settings_in_a_fresh_process(tmp_path, Q_MAX_RSS_KB="0").stdout.strip() == "None"  # off


def test_a_limit_that_looks_like_mebibytes_stops_startup(tmp_path):
    result = settings_in_a_fresh_process(tmp_path, Q_MAX_RSS_KB="1024")
    assert result.returncode != 0
    assert "Q_MAX_RSS_KB is in KiB" in result.stderr
