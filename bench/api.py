"""Reads through the /v1 API under gunicorn: requests per second and latency, against bare Django.

For each table size (1,000 and 100,000 videos, all owned by the caller) a database is filled
with bulk_create and served by its own gunicorn, started as README.md deploys it (sync
workers, DEBUG=false). Each endpoint is then loaded with a fixed number of connections:
GET /v1/videos/{id} (ids taken in turn from 500 of the videos) and GET /v1/videos?limit=20,
each beside a bare Django view making the same database lookups (bench/api_urls.py). Every
(endpoint, size, API or bare) is loaded in turn for several rounds and the best round counts,
so other work on the machine weighs on every figure alike. Beside requests/s and latency it
prints the CPU time the gunicorn workers spent per request (from /proc), which other work on
the machine disturbs far less. The load comes from `wrk` when installed (`apt-get install
wrk`), else from a small asyncio + httpx client, which needs CPU of its own and so understates
the server. Prints figures; asserts nothing.

    .venv/bin/python bench/api.py                        # ~4 minutes
    .venv/bin/python bench/api.py --seconds 3 --rounds 2 --sizes 1000,20000   # quick
    options: --connections 32, --workers 4, --database-url postgres://user@host:5432,
             --redis (rate-limit counters in a redis-server of the run's own, as with REDIS_URL)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
from _common import PY, Platform, free_port, percentile

# (name, API path, bare view's path)
ENDPOINTS = [
    ("GET /v1/videos/{id}", "/v1/videos/{id}", "/bench/videos/{id}"),
    ("GET /v1/videos?limit=20", "/v1/videos?limit=20", "/bench/videos?limit=20"),
]
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def add_videos(owner, provider, start: int, stop: int) -> None:
    """Ready videos numbered start..stop-1, each a second older than the one before."""
    from django.utils import timezone

    from videos.models import Video

    now = timezone.now()
    for first in range(start, stop, 10_000):
        batch = []
        for number in range(first, min(stop, first + 10_000)):
            moment = now - timedelta(seconds=number)
            batch.append(
                Video(
                    owner=owner,
                    provider=provider,
                    model="sora-2",
                    prompt=f"benchmark video {number}",
                    size="1280x720",
                    seconds=4,
                    state="ready",
                    progress=100,
                    created_at=moment,
                    submitted_at=moment,
                    provider_completed_at=moment,
                    archived_at=moment,
                    finished_at=moment,
                )
            )
        Video.objects.bulk_create(batch, batch_size=2000)


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def load_wrk(base: str, paths: list[str], token: str, connections: int, seconds: int, workdir: Path) -> dict:
    script = workdir / "paths.lua"
    listed = ", ".join(f'"{p}"' for p in paths)
    script.write_text(
        f"local paths = {{{listed}}}\nlocal n = 0\n"
        'request = function()\n  n = n + 1\n  return wrk.format("GET", paths[(n % #paths) + 1])\nend\n'
    )
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    command += ["--timeout", "10s", "-H", f"Authorization: Bearer {token}", "-s", str(script), base]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1)),
        "p99": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1)),
        "errors": (int(errors.group(1)) if errors else 0) + (sum(map(int, failed.groups())) if failed else 0),
    }


def load_python(base: str, paths: list[str], token: str, connections: int, seconds: int, workdir: Path) -> dict:
    async def run() -> dict:
        latencies: list[float] = []
        errors = 0
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=10) as client:
            loop = asyncio.get_running_loop()
            end = loop.time() + seconds

            async def connection(number: int) -> None:
                nonlocal errors
                while loop.time() < end:
                    started = time.perf_counter()
                    try:
                        answer = await client.get(paths[number % len(paths)])
                        errors += answer.status_code >= 400
                    except httpx.HTTPError:
                        errors += 1
                    latencies.append((time.perf_counter() - started) * 1000)
                    number += connections

            began = time.perf_counter()
            await asyncio.gather(*(connection(n) for n in range(connections)))
            elapsed = time.perf_counter() - began
        return {
            "rps": len(latencies) / elapsed,
            "p50": percentile(latencies, 0.5),
            "p99": percentile(latencies, 0.99),
            "errors": errors,
        }

    return asyncio.run(run())


def populate(size: int) -> None:
    """In a fresh process on DATABASE_URL: the schema, one caller with a token and `size` videos."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User
    from accounts.services import api_token_create
    from videos.models import Provider, Video

    call_command("migrate", verbosity=0)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")  # as the platform's own SQLite setup
    owner = User.objects.create_user(username="bench")
    token = api_token_create(user=owner, name="bench").raw
    add_videos(owner, Provider.objects.get(name="emulator-openai"), 0, size)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # what autovacuum does soon after a bulk load
    ids = list(Video.objects.values_list("id", flat=True))
    print(json.dumps({"token": token, "ids": random.Random(size).sample(ids, min(500, len(ids)))}))


def serve(platform: Platform, size: int, workers: int) -> dict:
    started = time.monotonic()
    url = platform.database(f"_{size}")
    answer = subprocess.run(
        [PY, __file__, "--populate", str(size)],
        env={**platform.env, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    if answer.returncode:
        sys.exit(f"filling the database failed:\n{answer.stderr[-3000:]}")
    made = json.loads(answer.stdout.strip().splitlines()[-1])
    print(f"  {size:,} videos: database filled in {time.monotonic() - started:.1f} s")
    env = {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bench.api_settings"}

    made["url"] = platform.start_web(workers=workers, port=free_port(), name=f"gunicorn-{size}", **env)
    made["pid"] = platform.processes[-1].pid
    return made


def workers_cpu_seconds(master_pid: int) -> float:
    """User + system CPU time of gunicorn's workers (the master's children); NaN without Linux's /proc."""
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
        total = 0
        for child in children:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    except OSError:
        return math.nan
    return total / os.sysconf("SC_CLK_TCK")


def start_redis(platform: Platform) -> str:
    """A redis-server of the run's own, without persistence; stopped with the other processes."""
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("--redis needs redis-server (apt-get install redis-server)")
    port = free_port()
    options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    platform.spawn("redis", [binary, *options, "--dir", str(platform.tmp)])
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                if connection.recv(16).startswith(b"+PONG"):
                    return f"redis://127.0.0.1:{port}/0"
        except OSError:
            if time.monotonic() > deadline:
                sys.exit("redis-server did not start")
            time.sleep(0.1)


def figures(row: dict) -> str:
    return f"{row['rps']:>7.0f} {row['p50']:>7.1f} {row['p99']:>7.1f} {row['cpu_ms']:>7.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,100000", help="videos in the table, one database each")
    parser.add_argument("--seconds", type=int, default=4, help="load time of one round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of everything, taking turns; the best counts")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--database-url", help="PostgreSQL server to create the throw-away databases on")
    parser.add_argument("--python-client", action="store_true", help="use the Python load client even with wrk")
    parser.add_argument(
        "--redis", action="store_true", help="count in a redis-server started for the run (REDIS_URL), not the database"
    )
    parser.add_argument("--populate", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.populate is not None:
        populate(args.populate)
        return
    sizes = sorted(int(size) for size in args.sizes.split(","))
    load = load_wrk if shutil.which("wrk") and not args.python_client else load_python

    # A limit no benchmark reaches; the counter still runs on every request, as in production
    # (one atomic increment per request, in Redis or the database, whatever the limit).
    env = {"API_RATE_LIMIT": "1000000/sec"}
    with Platform(database_url=args.database_url, env=env, django=False) as platform:
        if args.redis:
            platform.env["REDIS_URL"] = start_redis(platform)
        servers = {size: serve(platform, size, args.workers) for size in sizes}
        database = ("PostgreSQL" if args.database_url else "SQLite") + (", counters in Redis" if args.redis else "")
        client_name = "wrk" if load is load_wrk else "asyncio+httpx"
        print(
            f"\ngunicorn: {args.workers} sync workers per database, DEBUG=false, {database}; "
            f"{args.connections} connections from {client_name}; best of {args.rounds} rounds of {args.seconds} s\n"
        )
        runs = [
            (name, size, kind, path)
            for name, *paths in ENDPOINTS
            for size in sizes
            for kind, path in zip(("api", "bare"), paths, strict=True)
        ]
        best: dict[tuple[str, int, str], dict] = {}
        least_cpu: dict[tuple[str, int, str], float] = {}  # per request, the least disturbed round's
        for round_number in range(args.rounds + 1):
            for name, size, kind, template in runs:
                server = servers[size]
                paths = [template.format(id=video_id) for video_id in server["ids"]]
                # Round 0 warms every worker up (imports, connections) and is not counted.
                seconds = args.seconds if round_number else 2
                cpu_before = workers_cpu_seconds(server["pid"])
                result = load(server["url"], paths, server["token"], args.connections, seconds, platform.tmp)
                served = result["rps"] * seconds
                result["cpu_ms"] = (workers_cpu_seconds(server["pid"]) - cpu_before) / served * 1000
                if result["errors"]:
                    print(f"  warning: {result['errors']} failed or non-2xx responses on {template} ({size:,})")
                if round_number and result["rps"] > best.get((name, size, kind), {"rps": -1})["rps"]:
                    best[name, size, kind] = result
                if round_number:
                    least_cpu[name, size, kind] = min(least_cpu.get((name, size, kind), math.inf), result["cpu_ms"])
            if round_number:
                print(f"  round {round_number} of {args.rounds} done", flush=True)
        print(
            f"\n{'endpoint':<26} {'videos':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms':>7}"
            "   API / bare: req/s p50 p99 CPU"
        )
        print("-" * 100)
        for key, cpu_ms in least_cpu.items():
            best[key]["cpu_ms"] = cpu_ms
        for name, *_ in ENDPOINTS:
            for size in sizes:
                api, bare = best[name, size, "api"], best[name, size, "bare"]
                ratios = " ".join(f"{api[key] / bare[key]:.2f}x" for key in ("rps", "p50", "p99", "cpu_ms"))
                print(f"{name:<26} {size:>8,} {figures(api)}   {ratios:>31}")
                print(f"{'  bare view, same lookups':<26} {size:>8,} {figures(bare)}")
        if len(sizes) > 1:
            small, large = sizes[0], sizes[-1]
            print(f"\n{large:,} videos in the table vs {small:,} (1.00x = flat):")
            for name, *_ in reversed(ENDPOINTS):
                for kind in ("api", "bare"):
                    a, b = best[name, small, kind], best[name, large, kind]
                    label = name if kind == "api" else "  bare view"
                    print(
                        f"  {label:<24} p50 {b['p50'] / a['p50']:.2f}x, p99 {b['p99'] / a['p99']:.2f}x, "
                        f"req/s {b['rps'] / a['rps']:.2f}x"
                    )


if __name__ == "__main__":
    main()
