"""Provider calls needed to learn the state of N in-flight jobs: list polling versus one call per job.

Runs the platform's emulator in Django's live test server on a free loopback port, with a
throw-away test database, submits N long-running jobs through each adapter, then counts the
HTTP requests each polling strategy makes. Prints figures; asserts nothing.

    .venv/bin/python bench/providers.py [--sizes 10,100,1000]
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.servers.basehttp import ThreadedWSGIServer  # noqa: E402
from django.db import connections  # noqa: E402
from django.test.testcases import LiveServerThread, _StaticFilesHandler  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402

from videos.providers import ProviderConfig, SubmissionSpec, build_provider  # noqa: E402

# Jobs that stay queued for the whole run, so every one of them is in flight when polled.
PROMPT = "a lighthouse in a storm [emulator:queue=3600,fail=none]"
PROTOCOLS = {
    "openai": ("openai", "/emulator/openai/v1", "sora-2", "1280x720"),
    "azure_sora": ("azure_sora", "/emulator/azure/openai/v1", "sora", "854x480"),
}


class NoDelayServer(ThreadedWSGIServer):
    """Django's threaded test server, with Nagle off: on kept-alive connections its separate
    header and body writes otherwise wait for the client's delayed ACK (about 40 ms a request),
    which would dominate every timing printed here."""

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class LiveServer(LiveServerThread):
    server_class = NoDelayServer


@contextmanager
def live_emulator() -> Iterator[str]:
    """The platform on a free loopback port, backed by a test database created for this run."""
    setup_test_environment()
    connection = connections["default"]
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    override = {}
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        # The server thread must see the same in-memory database.
        connection.inc_thread_sharing()
        override = {"default": connection}
    server = LiveServer("127.0.0.1", _StaticFilesHandler, connections_override=override, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.terminate()
        if override:
            connection.dec_thread_sharing()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


def measure(base_url: str, kind: str, sizes: list[int]) -> list[tuple[int, int, int, float, float]]:
    kind, path, model, size = PROTOCOLS[kind]
    config = ProviderConfig(
        kind=kind, name=f"bench-{kind}", base_url=base_url + path, api_key=settings.EMULATOR_API_KEY
    )
    rows = []
    with build_provider(config) as provider:
        job_ids: list[str] = []
        for n in sizes:
            while len(job_ids) < n:
                job_ids.append(provider.create(SubmissionSpec(model=model, prompt=PROMPT, size=size, seconds=4)).job_id)
            wanted = job_ids[:n]
            started = time.perf_counter()
            result = provider.poll_many(wanted)
            list_seconds = time.perf_counter() - started
            learned = sum(1 for job_id in wanted if job_id in result)
            if learned != n:
                print(f"  warning: list polling learned {learned} of {n} states", file=sys.stderr)
            calls_before = provider.http.calls
            started = time.perf_counter()
            for job_id in wanted:
                provider.retrieve(job_id)
            one_by_one_seconds = time.perf_counter() - started
            one_by_one_calls = provider.http.calls - calls_before
            rows.append((n, result.calls, one_by_one_calls, list_seconds, one_by_one_seconds))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,1000", help="comma-separated in-flight job counts")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    sizes = sorted(int(value) for value in args.sizes.split(","))
    with live_emulator() as base_url:
        print(f"emulator at {base_url}; in-flight jobs polled once with each strategy\n")
        header = f"{'protocol':<11} {'N':>5} {'list calls':>10} {'per-job calls':>13} {'ratio':>7} {'list s':>8} {'per-job s':>9}"
        print(header)
        print("-" * len(header))
        for kind in PROTOCOLS:
            for n, list_calls, job_calls, list_s, job_s in measure(base_url, kind, sizes):
                ratio = job_calls / list_calls if list_calls else float("inf")
                print(f"{kind:<11} {n:>5} {list_calls:>10} {job_calls:>13} {ratio:>6.1f}x {list_s:>8.3f} {job_s:>9.3f}")
    print("\nlist calls: requests made by poll_many (list pages, plus retrieves of ids not listed).")


if __name__ == "__main__":
    main()
