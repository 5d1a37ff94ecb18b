"""Archiving a large video: throughput against a plain streamed copy, and the worker's memory.

Starts the platform with production settings (gunicorn serving the emulator, moto's S3 server
or the filesystem as storage) on a throw-away database, makes an emulated job of the given
size, then in a fresh process each:
  - the plain copy: httpx streams each of the job's files from the emulator straight into a
    multipart upload with the platform's part size (or a file), nothing else;
  - the archive: videos.archive.archive_video, the code a qcluster worker runs.
Each process resets its RSS high-water mark after start-up and reports how far above its
resting size the work took it. Done for a small and a large size: memory should not grow with
the size. Prints figures; asserts nothing.

    .venv/bin/python bench/archive.py                         # 1 GB and 100 MB into moto S3
    .venv/bin/python bench/archive.py --bytes 300000000       # quicker
    options: --filesystem, --small-bytes N, --part-bytes N, --database-url postgres://user@host:5432
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from _common import EMULATOR_KEY, PY, Platform

MB = 1_000_000


def _status_kib(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE).group(1))


def measured(work) -> dict:
    """Run `work` with the RSS peak reset just before, so start-up does not count."""
    # Resets VmHWM to the current RSS; where the kernel cannot, the peak includes start-up,
    # which only over-states the growth.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    resting = _status_kib("VmRSS")
    started = time.perf_counter()
    outcome = work()
    return {
        "seconds": time.perf_counter() - started,
        "growth_kib": _status_kib("VmHWM") - resting,
        "outcome": outcome,
    }


# --- what runs in the fresh processes ------------------------------------------------------------


def child(mode: str, video_id: str) -> None:
    import django

    django.setup()
    from django.conf import settings

    from videos import archive, storage
    from videos.models import Video

    video = Video.objects.select_related("provider").get(pk=video_id)
    if storage.is_s3():
        storage._s3_client().head_bucket(Bucket=settings.STORAGES["default"]["OPTIONS"]["bucket_name"])
    if mode == "archive":
        result = measured(lambda: archive.archive_video(video_id))
    else:
        result = measured(lambda: plain_copy(video))
    print(json.dumps(result))


def plain_copy(video) -> int:
    """Each of the job's files, streamed into the same storage: no checks, hashing or bookkeeping."""
    import httpx
    from django.core.files.storage import default_storage

    from videos import storage

    copied = 0
    base = f"{video.provider.base_url}/videos/{video.provider_job_id}/content"
    with httpx.Client(headers={"Authorization": f"Bearer {EMULATOR_KEY}"}, timeout=60) as http:
        for variant in ("video", "thumbnail", "spritesheet"):
            key = f"bench-copy/{video.pk}/{variant}"
            with http.stream("GET", base, params={"variant": variant}) as response:
                response.raise_for_status()
                chunks = response.iter_bytes()  # as they arrive, like the archive's iter_raw
                if storage.is_s3():
                    copied += upload(storage._s3_client(), default_storage.bucket_name, key, chunks)
                else:
                    path = Path(default_storage.path(key))
                    path.parent.mkdir(parents=True, exist_ok=True)
                    with open(path, "wb") as handle:
                        for chunk in chunks:
                            handle.write(chunk)
                            copied += len(chunk)
                        handle.flush()
                        os.fsync(handle.fileno())
    return copied


def upload(client, bucket: str, key: str, chunks) -> int:
    from django.conf import settings

    part_bytes = settings.PIPELINE_PART_BYTES
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts: list[dict] = []
    buffer = bytearray()
    size = 0

    def send(body: bytes) -> None:
        answer = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=len(parts) + 1, Body=body)
        parts.append({"PartNumber": len(parts) + 1, "ETag": answer["ETag"]})

    for chunk in chunks:
        buffer += chunk
        size += len(chunk)
        while len(buffer) >= part_bytes:
            send(bytes(buffer[:part_bytes]))
            del buffer[:part_bytes]
    if buffer or not parts:
        send(bytes(buffer))
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    return size


# --- the benchmark --------------------------------------------------------------------------------


def finished_job(size: int) -> str:
    """A video whose emulated job of `size` bytes has finished, in state archiving."""
    from django.utils import timezone

    from accounts.models import User
    from videos import pipeline, services
    from videos.models import Provider, Video

    provider = Provider.objects.get(name="emulator-openai")
    owner, _ = User.objects.get_or_create(username="bench")
    prompt = f"a large video [emulator:queue=0,generation=0,bytes={size}]"
    video = services.video_create(
        owner=owner, provider=provider, model="sora-2", prompt=prompt, size="1280x720", seconds=4
    )
    pipeline.submit_pending(provider)
    deadline = time.monotonic() + 30
    while Video.objects.get(pk=video.pk).state != "archiving":
        if time.monotonic() > deadline:
            raise RuntimeError(f"the job did not finish: {Video.objects.get(pk=video.pk).state}")
        Video.objects.filter(pk=video.pk).update(next_step_at=timezone.now())
        with provider.adapter() as adapter:
            pipeline.poll_due(provider, adapter)
        time.sleep(0.2)
    return video.pk


def run_child(platform: Platform, mode: str, video_id: str) -> dict:
    answer = subprocess.run(
        [PY, __file__, "--child", mode, video_id], env=platform.env, capture_output=True, text=True, timeout=900
    )
    if answer.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{answer.stderr[-3000:]}")
    return json.loads(answer.stdout.strip().splitlines()[-1])


def measure(platform: Platform, size: int, repeat: int) -> tuple[dict, dict]:
    """The fastest of `repeat` runs of each, taking turns at going first; memory: the largest."""
    import httpx

    from videos import storage
    from videos.models import Video

    runs: dict[str, list[dict]] = {"copy": [], "archive": []}
    for turn in range(repeat):
        video_id = finished_job(size)
        video = Video.objects.select_related("provider").get(pk=video_id)
        # The emulator draws each size's images once; neither contender should pay for that.
        for variant in ("thumbnail", "spritesheet"):
            url = f"{video.provider.base_url}/videos/{video.provider_job_id}/content"
            httpx.get(url, params={"variant": variant}, headers={"Authorization": f"Bearer {EMULATOR_KEY}"})
        for mode in ("copy", "archive") if turn % 2 == 0 else ("archive", "copy"):
            runs[mode].append(run_child(platform, mode, video_id))
        stored = sum(video.assets.values_list("size_bytes", flat=True))
        if runs["archive"][-1]["outcome"] != "ready" or stored != runs["copy"][-1]["outcome"]:
            raise RuntimeError(f"archive ended {runs['archive'][-1]['outcome']!r}, stored {stored} bytes")
        runs["archive"][-1]["outcome"] = stored
        # Free the storage (moto keeps objects in memory) before the next run.
        storage.delete_prefix(storage.video_prefix(video.owner_id, video.pk))
        if storage.is_s3():
            client, bucket = storage._s3_client(), platform.env["S3_BUCKET"]
            for variant in ("video", "thumbnail", "spritesheet"):
                client.delete_object(Bucket=bucket, Key=f"bench-copy/{video_id}/{variant}")
    best = {mode: min(rows, key=lambda row: row["seconds"]) for mode, rows in runs.items()}
    for mode, rows in runs.items():
        best[mode] = {**best[mode], "growth_kib": max(row["growth_kib"] for row in rows)}
    return best["copy"], best["archive"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bytes", type=int, default=1000 * MB, help="size of the large video")
    parser.add_argument("--small-bytes", type=int, default=100 * MB, help="size of the small video")
    parser.add_argument("--filesystem", action="store_true", help="filesystem storage instead of moto's S3 server")
    parser.add_argument("--part-bytes", type=int, default=8 * 1024 * 1024, help="PIPELINE_PART_BYTES")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the fastest counts")
    parser.add_argument("--database-url", help="PostgreSQL server to create a throw-away database on")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    env = {"PIPELINE_PART_BYTES": str(args.part_bytes), "EMULATOR_QUEUE_SECONDS": "0"}
    with Platform(database_url=args.database_url, s3=not args.filesystem, env=env) as platform:
        platform.start_web(workers=1, threads=4)
        where = "filesystem" if args.filesystem else "moto S3 server"
        print(f"emulator at {platform.url}; storage: {where}; part size {args.part_bytes / MB:.1f} MB\n")
        header = f"{'video':>9} {'work':<8} {'seconds':>8} {'MB/s':>7} {'vs copy':>8} {'peak RSS growth':>16}"
        print(header)
        print("-" * len(header))
        growth = {}
        for size in (args.small_bytes, args.bytes):
            copy, archived = measure(platform, size, args.repeat)
            for name, row in (("copy", copy), ("archive", archived)):
                rate = row["outcome"] / row["seconds"] / MB
                ratio = copy["seconds"] / row["seconds"]
                print(
                    f"{size / MB:>6.0f} MB {name:<8} {row['seconds']:>8.2f} {rate:>7.1f} {ratio:>7.2f}x"
                    f" {row['growth_kib'] / 1024:>13.1f} MiB",
                    flush=True,
                )
            growth[size] = archived["growth_kib"]
        small, large = growth[args.small_bytes], growth[args.bytes]
        print(
            f"\narchive memory growth, {args.bytes / MB:.0f} MB vs {args.small_bytes / MB:.0f} MB video: "
            f"{large / max(1, small):.2f}x for {args.bytes / args.small_bytes:.0f}x the bytes"
        )
        print("vs copy: archive throughput / plain-copy throughput (1.00x = no overhead).")


if __name__ == "__main__":
    sys.exit(main())
