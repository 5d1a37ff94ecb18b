"""Run the web server and the task cluster together, for development and small installs.

Production runs them as separate services (gunicorn and `manage.py qcluster`); README.md
shows how.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server and the django-q2 cluster together; stop both with Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--no-cluster", action="store_true", help="Start only the web server.")

    def handle(self, *args, host: str, port: int, no_cluster: bool, **options) -> None:
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        commands = [[sys.executable, manage, "runserver", f"{host}:{port}", "--noreload"]]
        if not no_cluster:
            commands.append([sys.executable, manage, "qcluster"])
        processes = [subprocess.Popen(command) for command in commands]  # noqa: S603

        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(process.poll() is None for process in processes):
                time.sleep(0.5)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        failed = [p for p in processes if p.returncode not in (0, -signal.SIGTERM, -signal.SIGINT)]
        if failed and not stopping:
            raise SystemExit(1)
