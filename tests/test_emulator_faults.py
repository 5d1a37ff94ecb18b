"""Fault switches, counters and the limits from settings: the misbehaviours the platform must survive."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from emulator_fixtures import INSTANT, assert_azure_error, assert_openai_error, wait_until


def create(client, prompt: str = f"fox {INSTANT}") -> httpx.Response:
    return client.post("/videos", json={"prompt": prompt})


def drain(chunks: Iterator[bytes], *, into: bytearray) -> None:
    """Read a stream to its end (or its failure), keeping what arrived."""
    for chunk in chunks:
        into += chunk


def ready_video(client) -> str:
    video_id = create(client).json()["id"]
    wait_until(lambda: client.get(f"/videos/{video_id}").json()["status"] == "completed")
    return video_id


def test_a_rate_limit_fault_answers_429_with_retry_after_and_performs_nothing(emulator):
    emulator.add_fault("rate_limit", protocol="openai", operation="create", remaining=2, retry_after=7)
    with emulator.openai() as client:
        first, second, third = create(client), create(client), create(client)
    for response in (first, second):
        error = assert_openai_error(response, 429)
        assert error["code"] == "rate_limit_exceeded"
        assert (response.headers["retry-after"], response.headers["retry-after-ms"]) == ("7", "7000")
    assert third.status_code == 200
    assert emulator.jobs_created("openai") == 1
    assert emulator.received("openai", "create") == 3


def test_a_rate_limit_fault_uses_azures_wording_on_azure(emulator):
    emulator.add_fault("rate_limit", protocol="azure", retry_after=12)
    with emulator.azure() as client:
        error = assert_azure_error(client.get("/video/generations/jobs"), 429)
    assert error == {"code": "429", "message": "Rate limit is exceeded. Try again in 12 seconds."}


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_fault_answers_the_chosen_5xx(emulator, status):
    emulator.add_fault("server_error", operation="create", status_code=status, retry_after=3)
    with emulator.openai() as client:
        error = assert_openai_error(create(client), status)
        assert error["type"] == "server_error"
        assert create(client).status_code == 200
    assert emulator.jobs_created("openai") == 1


def test_a_dropped_create_leaves_the_job_created_and_the_client_without_an_answer(emulator):
    emulator.add_fault("drop", protocol="openai", operation="create")
    with emulator.openai() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            create(client, prompt="unknown outcome")
        listed = client.get("/videos").json()["data"]
    assert [video["prompt"] for video in listed] == ["unknown outcome"]
    assert emulator.jobs_created("openai") == 1
    assert emulator.received("openai", "create") == 1


def test_a_dropped_azure_create_also_creates_the_job(emulator):
    emulator.add_fault("drop", protocol="azure", operation="create")
    body = {"model": "sora", "prompt": "lost answer", "width": 480, "height": 480}
    with emulator.azure() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/video/generations/jobs", json=body)
        assert [job["prompt"] for job in client.get("/video/generations/jobs").json()["data"]] == ["lost answer"]


def test_a_failed_create_does_not_spend_a_drop_fault(emulator):
    emulator.add_fault("drop", protocol="openai", operation="create")
    with emulator.openai() as client:
        assert client.post("/videos", json={"prompt": ""}).status_code == 400
        with pytest.raises(httpx.RemoteProtocolError):
            create(client)


def test_an_endless_body_fault_creates_the_job_then_answers_json_that_never_ends(emulator):
    emulator.add_fault("endless_body", protocol="openai", operation="create")
    received = 0
    with emulator.openai() as client, client.stream("POST", "/videos", json={"prompt": "billed"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert "content-length" not in response.headers
        for chunk in response.iter_raw():
            if not received:
                assert chunk.startswith(b'{"id": "')
            received += len(chunk)
            if received > 16 * 1024 * 1024:
                break
    assert received > 16 * 1024 * 1024
    assert emulator.jobs_created("openai") == 1


def test_an_endless_body_stops_when_the_client_hangs_up(emulator):
    before = set(threading.enumerate())
    fault = emulator.add_fault("endless_body", protocol="azure", operation="list")
    with emulator.azure() as client, client.stream("GET", "/video/generations/jobs") as response:
        assert next(response.iter_raw()).startswith(b'{"id": "')
    fault.refresh_from_db()
    assert fault.hits == 1
    # The server's thread for that connection (it may be gone already) ends far sooner than the
    # 1 GiB the body would otherwise run to; test_an_endless_body_fault_creates_... shows it runs on.
    serving = {thread for thread in set(threading.enumerate()) - before if "process_request" in thread.name}
    wait_until(lambda: not any(thread.is_alive() for thread in serving), timeout=10)


def test_an_endless_body_can_carry_an_error_status_and_end_at_truncate_at(emulator):
    emulator.add_fault("endless_body", protocol="openai", operation="list", status_code=503, truncate_at=100_000)
    with emulator.openai() as client:
        response = client.get("/videos")
        assert response.status_code == 503
        assert len(response.content) == 100_000
        assert client.get("/videos").status_code == 200  # used up
    assert emulator.received("openai", "list") == 2


def test_an_endless_body_fault_is_checked_when_switched_on(emulator):
    control = httpx.Client(base_url=f"{emulator.url}/_control", headers={"Authorization": f"Bearer {emulator.api_key}"})
    with control:
        assert control.post("/faults", json={"kind": "endless_body", "chunk_bytes": 0}).status_code == 400
        assert control.post("/faults", json={"kind": "endless_body", "status_code": 99}).status_code == 400
        made = control.post("/faults", json={"kind": "endless_body", "operation": "retrieve", "status_code": 502})
    assert made.status_code == 201
    assert made.json()["kind"] == "endless_body"


def test_a_truncated_download_announces_the_full_length_and_can_be_resumed_with_range(emulator, settings):
    settings.EMULATOR_VIDEO_BYTES = 300_000
    with emulator.openai() as client:
        video_id = ready_video(client)
        whole = client.get(f"/videos/{video_id}/content").content
        emulator.add_fault("truncate", protocol="openai", operation="content", truncate_at=100_000)
        received = bytearray()
        with client.stream("GET", f"/videos/{video_id}/content") as response:
            assert int(response.headers["content-length"]) == 300_000
            etag = response.headers["etag"]
            with pytest.raises(httpx.RemoteProtocolError):
                drain(response.iter_bytes(), into=received)
        assert len(received) == 100_000
        rest = client.get(f"/videos/{video_id}/content", headers={"Range": f"bytes={len(received)}-", "If-Range": etag})
    assert rest.status_code == 206
    assert rest.headers["content-range"] == f"bytes 100000-299999/{len(whole)}"
    assert bytes(received) + rest.content == whole
    assert len(whole) == 300_000


def test_a_slow_stream_waits_between_chunks(emulator):
    with emulator.openai() as client:
        video_id = ready_video(client)
        emulator.add_fault("slow_stream", operation="content", delay=0.1, chunk_bytes=10_000)
        started = time.monotonic()
        body = client.get(f"/videos/{video_id}/content").content
        elapsed = time.monotonic() - started
    chunks = -(-len(body) // 10_000)
    assert elapsed >= (chunks - 1) * 0.1 * 0.9


def test_an_html_fault_answers_a_page_with_status_200(emulator):
    with emulator.openai() as client:
        video_id = ready_video(client)
        emulator.add_fault("html", operation="content")
        response = client.get(f"/videos/{video_id}/content")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.lstrip().startswith("<!DOCTYPE html>")


def test_a_redirect_fault_points_elsewhere(emulator):
    with emulator.openai() as client:
        video_id = ready_video(client)
        emulator.add_fault("redirect", operation="content", redirect_url="http://169.254.169.254/latest/meta-data/")
        away = client.get(f"/videos/{video_id}/content")
        emulator.add_fault("redirect", operation="content", status_code=307)
        home = client.get(f"/videos/{video_id}/content")
        followed = client.get(home.headers["location"])
    assert away.status_code == 302
    assert away.headers["location"] == "http://169.254.169.254/latest/meta-data/"
    assert home.status_code == 307
    assert "emulator_redirected=1" in home.headers["location"]
    assert followed.status_code == 200
    assert followed.content[4:8] == b"ftyp"


def test_a_status_word_fault_shows_an_unknown_word_once(emulator):
    with emulator.openai() as client:
        video_id = create(client).json()["id"]
        emulator.add_fault("status_word", protocol="openai", operation="retrieve", status_word="paused")
        assert client.get(f"/videos/{video_id}").json()["status"] == "paused"
        assert client.get(f"/videos/{video_id}").json()["status"] in {"queued", "in_progress", "completed"}


def test_the_status_directive_replaces_the_in_progress_word_until_the_job_finishes(emulator):
    with emulator.openai() as openai, emulator.azure() as azure:
        video = create(openai, prompt="x [emulator:queue=0,generation=1.5,status=rendering]").json()
        job = azure.post(
            "/video/generations/jobs",
            json={
                "model": "sora",
                "prompt": "x [emulator:queue=0,generation=1.5,status=baking]",
                "width": 480,
                "height": 480,
            },
        ).json()
        assert openai.get(f"/videos/{video['id']}").json()["status"] == "rendering"
        assert azure.get(f"/video/generations/jobs/{job['id']}").json()["status"] == "baking"
        wait_until(lambda: openai.get(f"/videos/{video['id']}").json()["status"] == "completed")
        wait_until(lambda: azure.get(f"/video/generations/jobs/{job['id']}").json()["status"] == "succeeded")


def test_an_expired_fault_on_azure_content_makes_the_job_vanish(emulator):
    body = {"model": "sora", "prompt": f"x {INSTANT}", "width": 480, "height": 480}
    with emulator.azure() as client:
        job = client.post("/video/generations/jobs", json=body).json()
        generation = wait_until(lambda: client.get(f"/video/generations/jobs/{job['id']}").json()["generations"])[0]
        emulator.add_fault("expired", protocol="azure", operation="content")
        assert_azure_error(client.get(f"/video/generations/{generation['id']}/content/video"), 404)
        assert_azure_error(client.get(f"/video/generations/jobs/{job['id']}"), 404)


def test_a_delay_fault_holds_the_answer(emulator):
    emulator.add_fault("delay", operation="list", delay=0.5)
    with emulator.openai() as client:
        started = time.monotonic()
        assert client.get("/videos").status_code == 200
    assert time.monotonic() - started >= 0.5


def test_faults_are_scoped_by_protocol_and_operation(emulator):
    emulator.add_fault("server_error", protocol="azure", operation="list", remaining=None)
    with emulator.openai() as openai, emulator.azure() as azure:
        assert openai.get("/videos").status_code == 200
        assert (
            azure.post(
                "/video/generations/jobs", json={"model": "m", "prompt": "p", "width": 480, "height": 480}
            ).status_code
            == 200
        )
        for _ in range(3):
            assert_azure_error(azure.get("/video/generations/jobs"), 500)


def test_a_fault_fires_with_its_probability(emulator):
    never = emulator.add_fault("server_error", operation="list", remaining=None, probability=0)
    with emulator.openai() as client:
        assert all(client.get("/videos").status_code == 200 for _ in range(10))
        never.delete()
        emulator.add_fault("server_error", operation="list", remaining=None, probability=0.5)
        statuses = {client.get("/videos").status_code for _ in range(40)}
    assert statuses == {200, 500}


def test_counters_record_every_request_even_refused_ones(emulator):
    with emulator.openai() as client:
        create(client)
        client.get("/videos", headers={"Authorization": "Bearer wrong"})
        client.get("/videos/video_missing")
        client.get("/nowhere")
    counters = emulator.counters()
    assert counters["counters"]["openai"] == {"create": 1, "list": 1, "retrieve": 1, "other": 1}
    assert counters["jobs_created"] == {
        "openai": 1,
        "azure": 0,
        "gemini": 0,
        "vertex": 0,
        "ark": 0,
        "fal": 0,
        "replicate": 0,
        "runway": 0,
        "kling": 0,
        "minimax": 0,
        "luma": 0,
        "openrouter": 0,
    }


def test_the_control_api_sets_faults_and_reads_counters_over_http(emulator):
    control = httpx.Client(base_url=f"{emulator.url}/_control", headers={"Authorization": f"Bearer {emulator.api_key}"})
    with control, emulator.openai() as client:
        assert httpx.get(f"{emulator.url}/_control/counters").status_code == 401
        made = control.post(
            "/faults", json={"kind": "rate_limit", "protocol": "openai", "operation": "create", "retry_after": 2}
        )
        assert made.status_code == 201
        assert made.json()["remaining"] == 1
        assert create(client).status_code == 429
        assert control.get("/faults").json()["faults"][0]["hits"] == 1
        assert control.post("/faults", json={"kind": "explode"}).status_code == 400
        assert control.post("/faults", json={"kind": "delay", "delay": "soon"}).status_code == 400
        second = control.post("/faults", json={"kind": "server_error", "remaining": None}).json()
        assert control.delete(f"/faults/{second['id']}").status_code == 204
        assert control.delete(f"/faults/{second['id']}").status_code == 404
        assert create(client).status_code == 200
        assert control.get("/counters").json() == {
            "counters": {"openai": {"create": 2}},
            "jobs_created": {
                "openai": 1,
                "azure": 0,
                "gemini": 0,
                "vertex": 0,
                "ark": 0,
                "fal": 0,
                "replicate": 0,
                "runway": 0,
                "kling": 0,
                "minimax": 0,
                "luma": 0,
                "openrouter": 0,
            },
        }
        assert control.delete("/faults").status_code == 204
        assert control.get("/faults").json() == {"faults": []}
        assert control.post("/reset", json={"jobs": True}).status_code == 204
        assert client.get("/videos").json()["data"] == []


def test_the_requests_per_minute_setting_answers_429_past_the_limit(emulator, settings):
    settings.EMULATOR_REQUESTS_PER_MINUTE = 3
    with emulator.azure() as client:
        answers = [client.get("/video/generations/jobs") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert int(refused.headers["retry-after-ms"]) <= 60_000
    assert refused.json()["error"]["message"].startswith("Rate limit is exceeded. Try again in ")


def test_the_max_concurrent_jobs_setting_refuses_creates_beyond_it(emulator, settings):
    settings.EMULATOR_MAX_CONCURRENT_JOBS = 2
    with emulator.openai() as client:
        assert create(client, prompt="a [emulator:queue=0,generation=1]").status_code == 200
        assert create(client, prompt="b [emulator:queue=0,generation=30]").status_code == 200
        refused = create(client, prompt="c")
        assert assert_openai_error(refused, 429)["code"] == "rate_limit_exceeded"
        assert int(refused.headers["retry-after"]) >= 1
        wait_until(lambda: create(client, prompt="d").status_code == 200, timeout=5, interval=0.2)
    assert emulator.jobs_created("openai") == 3
