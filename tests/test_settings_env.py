from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from project import env

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "-production-secret-for-tests-0123456789abcdef",
    "ALLOWED_HOSTS": "videos.example.org",
    "PUBLIC_URL": "https://videos.example.org",
}


def run_django(code: str, extra_env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    # A fresh process configured only by what the test names (the browser tests' async flag
    # in this process's environment would trip the deploy check).
    dropped = ("DEBUG", "SECRET_KEY", "EMULATOR_ENABLED", "DJANGO_ALLOW_ASYNC_UNSAFE")
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
    environment.update({"DJANGO_SETTINGS_MODULE": "project.settings", "DATA_DIR": str(tmp_path)}, **extra_env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_env_bool_reads_common_spellings(monkeypatch):
    for raw, expected in [("1", True), ("yes", True), ("ON", True), ("0", False), ("off", False), ("No", False)]:
        monkeypatch.setenv("FLAG", raw)
        assert env.env_bool("FLAG", not expected) is expected


def test_env_bool_rejects_other_words(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG must be a boolean"):
        env.env_bool("FLAG", False)


def test_unset_or_blank_values_take_the_default(monkeypatch):
    monkeypatch.setenv("NUMBER", "  ")
    assert env.env_int("NUMBER", 7) == 7
    monkeypatch.delenv("NUMBER")
    assert env.env_float("NUMBER", 1.5) == 1.5


@pytest.mark.parametrize("raw", ["ten", "1.5", "0x10"])
def test_env_int_rejects_non_integers(monkeypatch, raw):
    monkeypatch.setenv("NUMBER", raw)
    with pytest.raises(ImproperlyConfigured, match="NUMBER must be a whole number"):
        env.env_int("NUMBER", 1)


def test_env_int_enforces_bounds(monkeypatch):
    monkeypatch.setenv("NUMBER", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env.env_int("NUMBER", 5, minimum=1)
    monkeypatch.setenv("NUMBER", "70000")
    with pytest.raises(ImproperlyConfigured, match="at most 65535"):
        env.env_int("NUMBER", 5, maximum=65535)


@pytest.mark.parametrize("raw", ["nan", "inf", "fast"])
def test_env_float_rejects_non_finite_numbers(monkeypatch, raw):
    monkeypatch.setenv("RATE", raw)
    with pytest.raises(ImproperlyConfigured, match="RATE"):
        env.env_float("RATE", 0.1)


def test_env_choice_names_the_allowed_values(monkeypatch):
    monkeypatch.setenv("STYLE", "sideways")
    with pytest.raises(ImproperlyConfigured, match="path, virtual"):
        env.env_choice("STYLE", "path", ("path", "virtual"))


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example , b.example,, ")
    assert env.env_list("HOSTS") == ["a.example", "b.example"]


def test_database_url_for_postgres():
    config = env.database_from_url("postgres://user:p%40ss@db.internal:6543/videos?sslmode=require")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["USER"], config["PASSWORD"], config["HOST"], config["PORT"], config["NAME"]) == (
        "user",
        "p@ss",
        "db.internal",
        "6543",
        "videos",
    )
    assert config["OPTIONS"] == {"sslmode": "require"}


def test_database_url_for_sqlite():
    assert env.database_from_url("sqlite:///var/lib/videos/db.sqlite3")["NAME"] == "/var/lib/videos/db.sqlite3"


@pytest.mark.parametrize(
    "url",
    ["mysql://root@localhost/videos", "postgres://localhost:5432/", "sqlite://relative.db", "postgres://h:port/x"],
)
def test_database_url_rejects_what_it_cannot_use(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        env.database_from_url(url)


def test_production_mode_refuses_to_start_without_secret_key(tmp_path):
    result = run_django("import django; django.setup()", {"DEBUG": "false"}, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_bad_value_stops_startup_with_the_variables_name(tmp_path):
    result = run_django("import django; django.setup()", {"Q_WORKERS": "lots"}, tmp_path)
    assert result.returncode != 0
    assert "Q_WORKERS must be a whole number" in result.stderr


def test_zero_config_uses_sqlite_filesystem_orm_broker_and_emulator(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.STORAGES['default']['BACKEND'], "
        "'orm' in s.Q_CLUSTER, s.EMULATOR_ENABLED, s.DEBUG)"
    )
    clean = {"DATABASE_URL": "", "REDIS_URL": "", "S3_BUCKET": ""}
    result = run_django(code, clean, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.core.files.storage.FileSystemStorage",
        "True",
        "True",
        "True",
    ]
    assert (tmp_path / ".dev-secret-key").exists()


def test_deploy_check_passes_with_the_documented_production_settings(tmp_path):
    code = (
        "import django, sys; django.setup(); from django.core.management import call_command; "
        "call_command('check', deploy=True, fail_level='WARNING')"
    )
    result = run_django(code, PRODUCTION, tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout


def test_production_mode_turns_the_emulator_off_by_default(tmp_path):
    code = "import django; django.setup(); from django.conf import settings as s; print(s.EMULATOR_ENABLED)"
    result = run_django(code, PRODUCTION, tmp_path)
    assert result.stdout.strip() == "False", result.stderr
