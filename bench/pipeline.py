"""The pipeline against a provider's request limit: calls per video, latency, 429s, throughput.

Starts the platform with production settings (gunicorn serving the emulator with a request
limit, a real `qcluster`) on a throw-away database and storage, submits N videos at once,
and follows them until every one is final. Prints figures; asserts nothing.

    .venv/bin/python bench/pipeline.py                       # 500 videos at 60/min: ~45 minutes
    .venv/bin/python bench/pipeline.py --videos 60 --rpm 600  # smoke test: ~1 minute
    .venv/bin/python bench/pipeline.py --videos 100           # sustained, at 60/min: ~9 minutes
    options: --protocol azure|gemini|vertex|ark|fal|replicate|runway|kling|minimax|luma|openrouter, --s3 (moto's S3 server), --database-url postgres://user@host:5432

    .venv/bin/python bench/pipeline.py --push --protocol ark --videos 40 --rpm 600 --generation-seconds 30
        half the videos at a provider that calls back (PUBLIC_URL set), half at a copy of it that
        is only polled, at the same time, each job taking 0.5-1.5x --generation-seconds:
        completion-to-ready with callbacks next to polling alone
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from datetime import datetime

import httpx
from _common import EMULATOR_KEY, Platform, percentile

# Requests a video needs at the least: the create and one download per asset the provider makes
# (the poll that sees the job finish hands the asset references to the archive); status polls
# come on top. Each protocol's emulator provider makes its first model at its default size and
# duration (Sora and Azure at a fixed one, as before).
PROTOCOLS = {
    "openai": {"provider": "emulator-openai", "model": "sora-2", "size": "1280x720", "seconds": 4, "essential": 4},
    "azure": {"provider": "emulator-azure", "model": "sora", "size": "854x480", "seconds": 5, "essential": 3},
    "gemini": {"provider": "emulator-gemini", "essential": 3},  # create, the file (behind the key), its redirect
    "vertex": {"provider": "emulator-vertex", "essential": 2},  # create, the poll that carries the video
    "ark": {"provider": "emulator-ark", "essential": 2},  # create, the CDN file
    "fal": {"provider": "emulator-fal", "essential": 3},  # submit, the result, the CDN file
    "replicate": {"provider": "emulator-replicate", "essential": 2},  # create, the delivery file
    "runway": {"provider": "emulator-runway", "essential": 2},  # create, the signed output
    "kling": {"provider": "emulator-kling", "essential": 2},  # create, the CDN file
    "minimax": {"provider": "emulator-minimax", "essential": 3},  # create, the file's URL, the file
    "luma": {"provider": "emulator-luma", "essential": 3},  # create, the video, Luma's thumbnail
    "openrouter": {"provider": "emulator-openrouter", "essential": 2},  # create, the content
}
FINAL = ("ready", "failed", "expired")
USERS = 10  # submissions are spread over several owners, as the fair scheduler expects


class RateWatch:
    """429s the emulator sent: its fixed one-minute windows count every request, refused ones too.

    The emulator drops a window a minute after it ends, so it is sampled at least that often.
    """

    def __init__(self, protocol: str, limit: int) -> None:
        self.protocol, self.limit = protocol, limit
        self.peaks: dict[int, int] = {}

    def sample(self) -> int:
        from videos.emulator.models import RateWindow

        for minute, count in RateWindow.objects.filter(protocol=self.protocol).values_list("minute", "count"):
            self.peaks[minute] = max(count, self.peaks.get(minute, 0))
        return sum(max(0, count - self.limit) for count in self.peaks.values())


def emulator_counters(platform: Platform, protocol: str) -> dict[str, int]:
    answer = httpx.get(
        f"{platform.url}/emulator/_control/counters", headers={"Authorization": f"Bearer {EMULATOR_KEY}"}, timeout=10
    )
    answer.raise_for_status()
    return answer.json()["counters"].get(protocol, {})


PUSHING = ("ark", "kling", "luma", "minimax", "replicate")


def polled_copy(name: str) -> str:
    """A second provider like `name` that is never asked to call back."""
    from videos.models import Provider

    copy = Provider.objects.get(name=name)
    copy.pk, copy.name, copy.callbacks, copy.is_emulator = None, f"{name}-polled", False, False
    copy.save()
    return copy.name


def create_videos(count: int, spec: dict, *, also: str | None = None, spread: float | None = None) -> list[str]:
    """`count` videos at the spec's provider, or, with `also`, alternately there and at `also`;
    with `spread`, each video's generation time drawn between half and one and a half times it
    (real jobs vary, so a poll cannot simply be timed for the moment a job ends)."""
    from accounts.models import User
    from videos import services
    from videos.models import Provider

    provider = Provider.objects.get(name=spec["provider"])
    targets = [provider, Provider.objects.get(name=also)] if also else [provider]
    model = spec.get("model") or provider.model_names[0]
    caps = provider.capabilities(model)
    size = spec.get("size") or caps.default_size()
    seconds = spec.get("seconds") or caps.default_seconds(size)
    print(f"  {provider.name}: {model}, {size}, {seconds} s")
    rng = random.Random(7)
    owners = [User.objects.create_user(username=f"bench{index}") for index in range(USERS)]
    ids = []
    for index in range(count):
        video = services.video_create(
            owner=owners[index % USERS],
            provider=targets[index % len(targets)],
            model=model,
            prompt=f"benchmark video {index}"
            + (f" [emulator:generation={spread * (0.5 + rng.random()):.1f}]" if spread else ""),
            size=size,
            seconds=seconds,
        )
        ids.append(video.pk)
    return ids


def follow(ids: list[str], watch: RateWatch, *, started: float, timeout: float, every: float) -> bool:
    """Print progress until every video is final; False when the time ran out."""
    from videos.models import Video

    end = started + timeout
    while True:
        states = Counter(Video.objects.filter(pk__in=ids).values_list("state", flat=True))
        refused = watch.sample()
        done = sum(states[s] for s in FINAL)
        line = " ".join(f"{s}={n}" for s, n in sorted(states.items()))
        print(f"  {time.monotonic() - started:7.1f} s  {done}/{len(ids)} final  [{line}]  429s={refused}", flush=True)
        if done == len(ids):
            return True
        if time.monotonic() > end:
            return False
        time.sleep(every)


def report(ids: list[str], platform: Platform, args: argparse.Namespace, watch: RateWatch, t0: datetime) -> None:
    from django.db.models import Sum

    from videos.models import Provider, ProviderState, Video

    spec = PROTOCOLS[args.protocol]
    videos = list(Video.objects.filter(pk__in=ids).select_related("provider"))
    ready = [v for v in videos if v.state == "ready"]
    counters = emulator_counters(platform, args.protocol)
    calls = sum(n for op, n in counters.items() if op != "jobs_created")
    per_video = calls / max(1, len(ready))
    latency = [(v.archived_at - v.provider_completed_at).total_seconds() for v in ready if v.provider_completed_at]
    whole = [(v.archived_at - v.created_at).total_seconds() for v in ready]
    states = ProviderState.objects.filter(provider__name=spec["provider"])
    throttled = states.aggregate(n=Sum("throttled_responses"))["n"] or 0
    sent = states.aggregate(n=Sum("requests_sent"))["n"] or 0
    provider = Provider.objects.get(name=spec["provider"])

    print(
        f"\nresults ({args.protocol}, {len(ids)} videos, limit {args.rpm}/min, {provider.max_concurrent_jobs} at once)"
    )
    failures = Counter(f"{v.state}: {v.error_code}" for v in videos if v.state != "ready")
    listed = ", ".join(f"{n} {why}" for why, n in failures.most_common())
    print(f"  videos ready: {len(ready)}, not ready: {len(videos) - len(ready)}" + (f" ({listed})" if listed else ""))
    breakdown = ", ".join(
        f"{op} {n / max(1, len(ready)):.2f}" for op, n in sorted(counters.items()) if op != "jobs_created"
    )
    print(f"  provider calls per video: {per_video:.2f}  ({breakdown}; essential {spec['essential']})")
    print(f"  requests the platform counted as sent: {sent}, the emulator received: {calls}")
    print(
        f"  completion-to-ready latency: p50 {percentile(latency, 0.5):.1f} s, p95 {percentile(latency, 0.95):.1f} s"
        "  (provider completed_at has whole-second resolution)"
    )
    print(f"  created-to-ready: p50 {percentile(whole, 0.5):.1f} s, p95 {percentile(whole, 0.95):.1f} s")
    print(f"  429s: emulator sent {watch.sample()}, platform recorded {throttled} (target 0)")
    if not ready:
        return
    minutes = (max(v.archived_at for v in ready) - t0).total_seconds() / 60
    achieved = len(ready) / minutes
    ceiling = args.rpm / per_video
    essential = args.rpm / spec["essential"]
    print(f"  throughput: {achieved:.1f} videos/min over {minutes * 60:.0f} s")
    print(f"    vs the limit at the calls measured ({ceiling:.1f}/min): {achieved / ceiling:.2f}")
    print(f"    vs the limit at the essential calls only ({essential:.1f}/min): {achieved / essential:.2f}")
    print(f"  request-limit use: {calls / minutes / args.rpm:.2f} of {args.rpm}/min")
    if args.push:
        print("  completion-to-ready, by how the platform learnt the job had finished:")
        for name, how in ((spec["provider"], "callbacks"), (f"{spec['provider']}-polled", "polling alone")):
            group = [
                (v.archived_at - v.provider_completed_at).total_seconds()
                for v in ready
                if v.provider.name == name and v.provider_completed_at
            ]
            print(
                f"    {how:>14}: p50 {percentile(group, 0.5):.1f} s, p95 {percentile(group, 0.95):.1f} s ({len(group)} videos)"
            )
    if minutes < 2:
        print(
            "  (a run this short is carried by the platform's empty request window (a minute's worth at once) and the\n"
            "   emulator's one-minute window, so it can beat the sustained limit: add videos for a sustained figure)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=500)
    parser.add_argument("--rpm", type=int, default=60, help="provider request limit per minute")
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="openai")
    parser.add_argument("--queue-seconds", type=float, default=1.0)
    parser.add_argument("--generation-seconds", type=float, default=1.0)
    parser.add_argument("--max-jobs", type=int, default=50, help="provider concurrency (kept out of the way)")
    parser.add_argument("--workers", type=int, default=4, help="qcluster workers (Q_WORKERS)")
    parser.add_argument("--s3", action="store_true", help="store into moto's S3 server instead of the filesystem")
    parser.add_argument("--database-url", help="PostgreSQL server to create a throw-away database on")
    parser.add_argument("--timeout", type=float, help="minutes before giving up (default: 3x the ideal time + 2)")
    parser.add_argument("--progress", type=float, default=5.0, help="seconds between progress lines")
    parser.add_argument("--push", action="store_true", help="callbacks against polling alone (see above)")
    args = parser.parse_args()
    if args.push and args.protocol not in PUSHING:
        parser.error(f"--push needs a protocol that calls back: {', '.join(PUSHING)}")
    spec = PROTOCOLS[args.protocol]
    ideal_minutes = args.videos * (spec["essential"] + 1) / args.rpm
    timeout = 60 * (args.timeout or 3 * ideal_minutes + 2)

    env = {
        "EMULATOR_REQUESTS_PER_MINUTE": str(args.rpm),
        "EMULATOR_QUEUE_SECONDS": str(args.queue_seconds),
        "EMULATOR_GENERATION_SECONDS": str(args.generation_seconds),
        "EMULATOR_FAILURE_RATE": "0",
        "Q_WORKERS": str(args.workers),
    }
    platform = Platform(database_url=args.database_url, s3=args.s3, env=env)
    if args.push:
        platform.env["PUBLIC_URL"] = platform.url  # where the emulator calls back
    with platform:
        from django.utils import timezone

        from videos.models import Heartbeat, Provider

        Provider.objects.update(requests_per_minute=args.rpm, max_concurrent_jobs=args.max_jobs)
        platform.start_web(workers=2, threads=8)
        cluster = platform.start_cluster()
        deadline = time.monotonic() + 60
        while not Heartbeat.objects.filter(name="poll-loop").exists():
            if cluster.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the cluster did not start:\n{platform.log_tail('qcluster')}")
            time.sleep(0.5)
        storage = "moto S3" if args.s3 else "filesystem"
        database = "PostgreSQL" if args.database_url else "SQLite"
        print(f"platform at {platform.url} ({database}, {storage}); ideal time ~{ideal_minutes:.1f} min")
        watch = RateWatch(args.protocol, args.rpm)
        started, t0 = time.monotonic(), timezone.now()
        if args.push:
            ids = create_videos(args.videos, spec, also=polled_copy(spec["provider"]), spread=args.generation_seconds)
        else:
            ids = create_videos(args.videos, spec)
        print(f"  {len(ids)} videos created in {time.monotonic() - started:.1f} s")
        if not follow(ids, watch, started=started, timeout=timeout, every=args.progress):
            print(f"\ntimed out after {timeout / 60:.0f} min; figures below cover the videos that finished")
            print(platform.log_tail("qcluster", 1500))
        report(ids, platform, args, watch, t0)


if __name__ == "__main__":
    main()
