"""Validation of OpenAI Videos creates by the emulator: parameters, bodies and reference images."""

from __future__ import annotations

import base64
import struct
import time
import zlib

import pytest
from emulator_fixtures import assert_openai_error, image_bytes


def multipart(**fields: str) -> dict:
    return {name: (None, value) for name, value in fields.items()}


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({}, "prompt", "missing_required_parameter"),
        ({"prompt": ""}, "prompt", "string_below_min_length"),
        ({"prompt": "x" * 32001}, "prompt", "string_above_max_length"),
        ({"prompt": "a\x00b"}, "prompt", "invalid_value"),
        ({"prompt": 7}, "prompt", "invalid_type"),
        ({"prompt": "x", "seconds": "7"}, "seconds", "invalid_value"),
        ({"prompt": "x", "seconds": 8}, "seconds", "invalid_type"),
        ({"prompt": "x", "size": "640x480"}, "size", "invalid_value"),
        ({"prompt": "x", "model": 42}, "model", "invalid_type"),
        ({"prompt": "x", "model": ""}, "model", "invalid_value"),
        ({"prompt": "x", "quality": "high"}, "quality", "unknown_parameter"),
        ({"prompt": "x", "input_reference": {"image_url": "https://example.org/a.png"}}, None, None),
        ({"prompt": "x", "input_reference": {"image_url": "data:,x", "file_id": "file-1"}}, None, None),
    ],
)
def test_it_refuses_invalid_json_creates_and_bills_nothing(emulator, body, param, code):
    with emulator.openai() as client:
        error = assert_openai_error(client.post("/videos", json=body), 400)
    assert error["type"] == "invalid_request_error"
    if param:
        assert (error["param"], error["code"]) == (param, code)
    assert emulator.jobs_created("openai") == 0


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"prompt": "x", "seconds": "16"}, "seconds"),
        ({"prompt": "x", "size": "1920x1080"}, "size"),
        ({"seed": "1"}, "seed"),
    ],
)
def test_it_refuses_invalid_multipart_creates(emulator, fields, param):
    with emulator.openai() as client:
        assert assert_openai_error(client.post("/videos", files=multipart(**fields)), 400)["param"] == param


def test_it_accepts_a_prompt_of_exactly_32000_characters(emulator):
    with emulator.openai() as client:
        assert client.post("/videos", json={"prompt": "x" * 32000}).status_code == 200


def test_it_refuses_malformed_bodies_with_its_envelope(emulator):
    with emulator.openai() as client:
        for content, content_type in [
            (b'{"prompt": "x"', "application/json"),
            (b'["prompt"]', "application/json"),
            (b"<prompt>x</prompt>", "application/xml"),
            (b"--broken\r\n", "multipart/form-data; boundary=broken"),
        ]:
            assert_openai_error(client.post("/videos", content=content, headers={"content-type": content_type}), 400)
    assert emulator.jobs_created("openai") == 0


def test_a_multipart_input_reference_must_be_a_real_image_of_the_requested_size(emulator):
    with emulator.openai() as client:

        def send(data: bytes, name: str = "start.png", mime: str = "image/png", size: str = "720x1280"):
            parts = {"prompt": (None, "from a frame"), "size": (None, size), "input_reference": (name, data, mime)}
            return client.post("/videos", files=parts)

        assert send(image_bytes(720, 1280)).status_code == 200
        assert send(image_bytes(1280, 720, "JPEG"), "s.jpg", "image/jpeg", "1280x720").status_code == 200
        assert send(image_bytes(1024, 1792, "WEBP"), "s.webp", "image/webp", "1024x1792").status_code == 200
        mismatch = assert_openai_error(send(image_bytes(1280, 720)), 400)
        assert mismatch["message"] == "Inpaint image must match the requested width and height"
        assert mismatch["param"] == "input_reference"
        assert assert_openai_error(send(bytes(4096)), 400)["code"] == "invalid_image"
        assert assert_openai_error(send(image_bytes(720, 1280, "GIF"), "a.gif"), 400)["code"] == "invalid_image"
        assert assert_openai_error(send(b"%PDF-1.7\n" + bytes(100), "a.png"), 400)["code"] == "invalid_image"
        truncated = image_bytes(720, 1280)[:200]
        assert assert_openai_error(send(truncated), 400)["code"] == "invalid_image"
    assert emulator.jobs_created("openai") == 3


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [5000, 50000])
def test_a_tiny_png_claiming_a_huge_picture_is_refused_quickly(emulator, side):
    with emulator.openai() as client:
        started = time.monotonic()
        parts = {"prompt": (None, "bomb"), "input_reference": ("b.png", _png_claiming(side, side), "image/png")}
        error = assert_openai_error(client.post("/videos", files=parts), 400)
    assert error["param"] == "input_reference"
    assert time.monotonic() - started < 2


def test_a_json_input_reference_takes_a_data_url(emulator):
    data_url = "data:image/png;base64," + base64.b64encode(image_bytes(1280, 720)).decode()
    with emulator.openai() as client:
        ok = client.post(
            "/videos", json={"prompt": "x", "size": "1280x720", "input_reference": {"image_url": data_url}}
        )
        assert ok.status_code == 200, ok.text
        # Multipart carries the same object as bracketed fields, as the SDK serialises it.
        parts = multipart(prompt="x", size="1280x720", **{"input_reference[image_url]": data_url})
        assert client.post("/videos", files=parts).status_code == 200
        wrong_size = {"prompt": "x", "input_reference": {"image_url": data_url}}
        assert assert_openai_error(client.post("/videos", json=wrong_size), 400)["param"] == "input_reference"
        file_id = {"prompt": "x", "input_reference": {"file_id": "file-123"}}
        assert_openai_error(client.post("/videos", json=file_id), 404)


def test_an_explicit_null_stands_for_an_omitted_optional_parameter(emulator):
    with emulator.openai() as client:
        response = client.post("/videos", json={"prompt": "x", "seconds": None, "size": None, "model": None})
    video = response.json()
    assert response.status_code == 200
    assert (video["seconds"], video["size"], video["model"]) == ("4", "720x1280", "sora-2")
