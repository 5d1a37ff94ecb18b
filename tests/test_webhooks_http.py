"""Webhook deliveries to the URL a user typed in (SSRF guard), against real local receivers."""

from __future__ import annotations

import datetime
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from webhooks import http as webhook_http
from webhooks.http import Refused, Unreachable, deliver

BODY = b'{"type": "video.completed", "data": {"id": "video_1"}}'
HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "video-platform-webhooks/1.0",
    "webhook-id": "msg_1",
    "webhook-timestamp": "1700000000",
    "webhook-signature": "v1,c2lnbmF0dXJl",
}
NAME = "hooks.example.test"  # made up: only the fake resolver below knows it
PUBLIC = "93.184.215.14"  # a global address; tests never really connect to it


@dataclass
class Received:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"", headers: tuple = ()) -> None:
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def answer_ok(handler: BaseHTTPRequestHandler) -> None:
    send(handler, 200, b'{"received": true}')


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Receiver

    def record(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append(Received(self.command, self.path, list(self.headers.items()), body))
        try:
            self.server.reply(self)
        except OSError:
            self.server.write_failed = True  # the client hung up mid-answer
        finally:
            self.server.replied.set()

    do_POST = do_GET = do_CONNECT = record

    def log_message(self, format, *args) -> None:
        pass


class Receiver(ThreadingHTTPServer):
    """A local HTTP server that counts every connection it accepts and records every request."""

    daemon_threads = True
    block_on_close = False  # a receiver still sleeping or trickling does not hold up the test's end

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.connections = 0
        self.requests: list[Received] = []
        self.reply: Callable[[BaseHTTPRequestHandler], None] = answer_ok
        self.replied = threading.Event()
        self.write_failed = False

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, scheme: str = "http", path: str = "/hook") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def process_request(self, request, client_address) -> None:
        self.connections += 1
        super().process_request(request, client_address)


def serving(server: Receiver) -> Iterator[Receiver]:
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serving(Receiver())


@pytest.fixture
def second_receiver() -> Iterator[Receiver]:
    yield from serving(Receiver())


@pytest.fixture
def proxy() -> Iterator[Receiver]:
    yield from serving(Receiver())


@pytest.fixture
def connects(monkeypatch) -> list[tuple]:
    """Every address a TCP connection is opened to (httpcore connects with socket.create_connection)."""
    made: list[tuple] = []
    real = socket.create_connection

    def recording(address, *args, **kwargs):
        made.append(address)
        if address[0] == PUBLIC:
            raise ConnectionRefusedError("the test network has no route to the public address")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    return made


class FakeResolver:
    """Answers lookups of names it was told about, one answer per lookup, the last one repeating;
    anything else (IP literals, localhost) goes to the system's resolver."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str] | OSError]] = {}
        self.lookups: list[str] = []
        self.real = socket.getaddrinfo

    def answer(self, name: str, *answers: list[str] | OSError) -> None:
        self.answers[name] = list(answers)

    def getaddrinfo(self, host, port, *args, **kwargs):
        if host not in self.answers:
            return self.real(host, port, *args, **kwargs)
        self.lookups.append(host)
        queue = self.answers[host]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, OSError):
            raise answer
        return [
            (self.family(address), socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port)) for address in answer
        ]

    @staticmethod
    def family(address: str) -> socket.AddressFamily:
        return socket.AF_INET6 if ":" in address else socket.AF_INET


@pytest.fixture
def dns(monkeypatch) -> FakeResolver:
    """The resolver is the edge of the process: names are made up here, nothing asks real DNS."""
    resolver = FakeResolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver.getaddrinfo)
    return resolver


def post(url: str, **options):
    options.setdefault("allow_private", False)
    return deliver(url, BODY, HEADERS, **options)


# --- Deliveries that go through ---------------------------------------------------------------


def test_a_delivery_reaches_a_local_receiver_with_the_exact_body_and_headers(receiver):
    answer = post(receiver.url(path="/hook?source=tests"), allow_private=True)

    assert (answer.status_code, answer.body) == (200, b'{"received": true}')
    assert 0 < answer.elapsed < 5
    [request] = receiver.requests
    assert (request.method, request.path, request.body) == ("POST", "/hook?source=tests", BODY)
    sent = {name.lower(): value for name, value in request.headers}
    expected = {name.lower(): value for name, value in HEADERS.items()}
    assert sent == {**expected, "host": f"127.0.0.1:{receiver.port}", "content-length": str(len(BODY))}


def test_a_receivers_error_status_comes_back_as_its_answer(receiver):
    receiver.reply = lambda handler: send(handler, 503, b"busy")

    answer = post(receiver.url(), allow_private=True)

    assert (answer.status_code, answer.body) == (503, b"busy")


def test_a_huge_answer_is_cut_at_max_body_and_not_downloaded(receiver):
    size = 32 * 1024 * 1024

    def huge(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        for start in range(0, size, 65536):
            handler.wfile.write(bytes([start // 65536 % 256]) * 65536)

    receiver.reply = huge

    answer = post(receiver.url(), allow_private=True, max_body=100_000)

    assert answer.body == bytes([0]) * 65536 + bytes([1]) * (100_000 - 65536)
    assert receiver.replied.wait(5)
    assert receiver.write_failed, "the client read the whole answer instead of hanging up"


def test_a_receiver_sleeping_past_the_timeout_is_unreachable_in_about_that_time(receiver):
    receiver.reply = lambda handler: (time.sleep(3), answer_ok(handler))

    started = time.monotonic()
    with pytest.raises(Unreachable, match="no answer within 1 s"):
        post(receiver.url(), allow_private=True, timeout=1.0)
    assert time.monotonic() - started < 2.0


TRICKLED = 25  # bytes, 5 s of them: a delivery not cut off at its 1 s deadline fails soon, not hangs


def trickle_body(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    for _ in range(TRICKLED):
        handler.wfile.write(b".")
        handler.wfile.flush()
        time.sleep(0.2)


def trickle_headers(handler: BaseHTTPRequestHandler) -> None:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
    for _ in range(TRICKLED):
        handler.wfile.write(b"X")
        handler.wfile.flush()
        time.sleep(0.2)


@pytest.mark.parametrize("trickle", [trickle_body, trickle_headers], ids=["body", "headers"])
def test_a_receiver_trickling_bytes_is_cut_off_at_the_overall_deadline(receiver, trickle):
    receiver.reply = trickle  # a byte every 0.2 s: each read is well within the 1 s read timeout

    started = time.monotonic()
    with pytest.raises(Unreachable, match="no answer within 1 s"):
        post(receiver.url(), allow_private=True, timeout=1.0)
    assert 0.9 < time.monotonic() - started < 2.0


def test_a_port_nobody_listens_on_is_unreachable():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: a connection is refused

        with pytest.raises(Unreachable, match="could not connect"):
            post(f"http://127.0.0.1:{port}/hook", allow_private=True)


def test_a_name_that_does_not_resolve_is_unreachable(dns, connects):
    dns.answer(NAME, socket.gaierror(socket.EAI_NONAME, "Name or service not known"))

    with pytest.raises(Unreachable, match=f"cannot resolve {NAME}"):
        post(f"https://{NAME}/hook")
    assert connects == []


# --- Where a delivery may not go --------------------------------------------------------------

LOOPBACK_URLS = [
    "https://127.0.0.1:{port}/hook",
    "https://[::1]:{port}/hook",
    "https://[::ffff:127.0.0.1]:{port}/hook",
    "https://localhost:{port}/hook",
    "https://0.0.0.0:{port}/hook",
]
PRIVATE_URLS = [
    "https://10.0.0.1/hook",
    "https://192.168.1.1/hook",
    "https://172.16.0.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[fe80::1]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://100.64.0.1/hook",
    "https://224.0.0.1/hook",
]


@pytest.mark.parametrize("template", LOOPBACK_URLS + PRIVATE_URLS)
def test_a_non_public_address_is_refused_and_nothing_connects(receiver, connects, template):
    with pytest.raises(Refused, match="address"):
        post(template.format(port=receiver.port))

    assert connects == []
    assert receiver.connections == 0


def test_a_refusal_names_the_kind_of_address():
    with pytest.raises(Refused, match=r"^127\.0\.0\.1 is a loopback address$"):
        post("https://127.0.0.1/hook")
    with pytest.raises(Refused, match=r"^169\.254\.169\.254 is a link-local address$"):
        post("https://169.254.169.254/")
    with pytest.raises(Refused, match=r"^127\.0\.0\.1 is a loopback address$"):
        post("https://[::ffff:127.0.0.1]/hook")  # IPv4-mapped: judged as the IPv4 address it stands for
    with pytest.raises(Refused, match=r"^localhost resolves to 127\.0\.0\.1, which is a loopback address$"):
        post("https://localhost/hook")


def test_ipv6_forms_that_lead_to_private_ipv4_networks_are_refused():
    for url, shown in (
        ("https://[64:ff9b::a9fe:a9fe]/", "169.254.169.254"),  # NAT64's well-known prefix
        ("https://[2002:a00:1::]/", "10.0.0.1"),  # 6to4
        ("https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/", "10.0.0.1"),  # Teredo's client address
    ):
        with pytest.raises(Refused, match=rf"^{re.escape(shown)} is "):
            post(url)
    for url in ("https://[64:ff9b:1::a00:1]/", "https://[fec0::1]/"):  # local-use NAT64, site-local
        with pytest.raises(Refused):
            post(url)


def test_plain_http_is_refused_unless_private_addresses_are_allowed(receiver, dns, connects):
    dns.answer(NAME, [PUBLIC])

    for url in (receiver.url(), f"http://{NAME}/hook"):
        with pytest.raises(Refused, match="scheme 'http' is not allowed, only https"):
            post(url)
    assert dns.lookups == []
    assert connects == []
    assert receiver.connections == 0


@pytest.mark.parametrize("scheme", ["ftp", "file", "ws"])
def test_other_schemes_are_refused_even_with_private_addresses_allowed(scheme):
    with pytest.raises(Refused, match="is not allowed"):
        post(f"{scheme}://127.0.0.1/hook", allow_private=True)


@pytest.mark.parametrize("allow_private", [False, True])
def test_credentials_in_the_url_are_refused(receiver, connects, allow_private):
    with pytest.raises(Refused, match="credentials"):
        post(f"https://alice:s3cret@127.0.0.1:{receiver.port}/hook", allow_private=allow_private)
    assert connects == []


@pytest.mark.parametrize("addresses", [["10.0.0.1"], [PUBLIC, "127.0.0.1"], ["::1"], ["::ffff:192.168.1.1"]])
def test_a_name_resolving_to_any_non_public_address_is_refused(dns, connects, addresses):
    dns.answer(NAME, addresses)

    with pytest.raises(Refused, match=f"^{NAME} resolves to "):
        post(f"https://{NAME}/hook")
    assert dns.lookups == [NAME]
    assert connects == []


@pytest.mark.parametrize(
    ("first", "second", "refusal"),
    [(PUBLIC, "127.0.0.1", Unreachable), ("127.0.0.1", PUBLIC, Refused)],
    ids=["public-then-loopback", "loopback-then-public"],
)
def test_a_name_rebinding_to_loopback_never_reaches_the_receiver(receiver, dns, connects, first, second, refusal):
    dns.answer(NAME, [first], [second])

    with pytest.raises(refusal):
        post(f"https://{NAME}:{receiver.port}/hook")
    assert dns.lookups == [NAME]  # one lookup: the address checked is the address connected to
    assert connects == ([(PUBLIC, receiver.port)] if first == PUBLIC else [])
    assert receiver.connections == 0


@pytest.mark.parametrize(("first", "second"), [(PUBLIC, "127.0.0.1"), ("127.0.0.1", PUBLIC)])
def test_the_connection_goes_to_the_one_address_looked_up(receiver, dns, connects, first, second):
    dns.answer(NAME, [first], [second])

    try:
        post(f"http://{NAME}:{receiver.port}/hook", allow_private=True)
    except Unreachable:
        assert first == PUBLIC
    assert dns.lookups == [NAME]
    assert connects == [(first, receiver.port)]
    assert receiver.connections == (1 if first == "127.0.0.1" else 0)


def test_a_redirect_is_the_answer_and_its_location_is_not_contacted(receiver, second_receiver):
    receiver.reply = lambda handler: send(handler, 302, headers=(("Location", second_receiver.url()),))

    answer = post(receiver.url(), allow_private=True)

    assert answer.status_code == 302
    assert len(receiver.requests) == 1
    assert second_receiver.connections == 0


def test_a_proxy_from_the_environment_is_not_used(receiver, proxy, monkeypatch):
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(variable, f"http://127.0.0.1:{proxy.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with httpx.Client() as default_client:  # the setting is live: a default client goes to the proxy
        default_client.post(receiver.url(), content=BODY)
    assert (proxy.connections, receiver.connections) == (1, 0)

    answer = post(receiver.url(), allow_private=True)

    assert answer.status_code == 200
    assert (proxy.connections, receiver.connections) == (1, 1)


def test_a_cookie_a_receiver_sets_is_not_sent_with_the_next_delivery(receiver):
    receiver.reply = lambda handler: send(handler, 200, headers=(("Set-Cookie", "session=abc; Path=/"),))

    post(receiver.url(), allow_private=True)
    post(receiver.url(), allow_private=True)

    assert [name.lower() for name, _ in receiver.requests[1].headers if name.lower() == "cookie"] == []


def test_a_refusal_is_logged_with_the_host_and_never_the_query_string_or_credentials(caplog):
    with caplog.at_level(logging.WARNING, logger="webhooks.security"), pytest.raises(Refused):
        post("https://10.0.0.1:8443/hook?token=s3cret")
    with caplog.at_level(logging.WARNING, logger="webhooks.security"), pytest.raises(Refused):
        post("https://alice:pa55word@hooks.example.com/hook")

    records = [record for record in caplog.records if record.name == "webhooks.security"]
    assert [record.levelno for record in records] == [logging.WARNING, logging.WARNING]
    first, second = (record.getMessage() for record in records)
    assert "https://10.0.0.1:8443" in first
    assert "s3cret" not in first
    assert "token" not in first
    assert "https://hooks.example.com:443" in second
    assert "alice" not in second
    assert "pa55word" not in second


# --- TLS: the name is verified while the socket goes to the address checked -------------------


def certificate(name: str) -> tuple[bytes, bytes]:
    """A self-signed certificate for `name` and its key, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch) -> Iterator[Callable[[str], Receiver]]:
    """A local https receiver presenting a certificate for a given name, which deliveries trust."""
    servers: list[Receiver] = []

    def start(name: str) -> Receiver:
        cert, key = certificate(name)
        (tmp_path / "cert.pem").write_bytes(cert)
        (tmp_path / "key.pem").write_bytes(key)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
        server = Receiver()
        server.server_names = []
        context.sni_callback = lambda sock, server_name, _context: server.server_names.append(server_name)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        monkeypatch.setattr(webhook_http, "_tls_context", lambda: ssl.create_default_context(cadata=cert.decode()))
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_https_verifies_the_host_name_while_connecting_to_the_address_checked(tls_receiver, dns, connects):
    server = tls_receiver(NAME)
    dns.answer(NAME, ["127.0.0.1"])

    answer = post(f"https://{NAME}:{server.port}/hook", allow_private=True)

    assert answer.status_code == 200
    assert connects == [("127.0.0.1", server.port)]
    assert server.server_names == [NAME]
    [request] = server.requests
    assert dict(request.headers)["Host"] == f"{NAME}:{server.port}"


def test_a_certificate_for_another_name_is_unreachable(tls_receiver, dns):
    server = tls_receiver("other.example.test")
    dns.answer(NAME, ["127.0.0.1"])

    with pytest.raises(Unreachable, match="certificate"):
        post(f"https://{NAME}:{server.port}/hook", allow_private=True)
    assert server.requests == []
