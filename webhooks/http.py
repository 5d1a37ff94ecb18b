"""How a webhook delivery reaches the URL a user typed in (SSRF guard).

The URL is the user's to choose, so it may name the platform's own network: loopback, private
ranges, the cloud metadata address. The guard sits where the connection is made, not before it:
the network backend under httpx resolves the host once per connection attempt, refuses unless
every address it got is public, and connects to the first of those very addresses. A name that
is public when checked and private when connected to (DNS rebinding) has no gap to use. TLS still
checks the certificate against the host name. Only https (http too with allow_private, for
receivers on the operator's own network); no proxy from the environment, no redirect followed, no
cookie kept, and one deadline bounds the whole exchange.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

security_logger = logging.getLogger("webhooks.security")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ResolvedAddress = tuple[Any, ...]  # one getaddrinfo answer: family, type, proto, canonname, sockaddr


class DeliveryError(Exception):
    """The delivery got no answer; `reason` says why, in words fit to show the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Refused(DeliveryError):
    """The URL may not be contacted; nothing was sent."""


class Unreachable(DeliveryError):
    """The receiver could not be reached, or did not answer in time."""


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: bytes  # at most max_body bytes, as received (no content decoding)
    elapsed: float  # seconds, from the start of the delivery to the end of reading `body`


def deliver(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_private: bool,
    timeout: float = 10.0,
    max_body: int = 4096,
) -> Answer:
    """POST `body` with exactly `headers` (plus Host and Content-Length) to `url`.

    Raises Refused when the URL may not be contacted, Unreachable when the transport fails.
    `timeout` bounds each step and also the whole exchange, reading the answer included."""
    try:
        return _deliver(url, body, headers, allow_private=allow_private, timeout=timeout, max_body=max_body)
    except Refused as exc:
        _log_refusal(url, exc.reason)
        raise


def _deliver(
    url: str, body: bytes, headers: dict[str, str], *, allow_private: bool, timeout: float, max_body: int
) -> Answer:
    target = _checked_url(url, allow_private=allow_private)
    started = time.monotonic()
    backend = GuardedBackend(allow_private=allow_private, deadline=started + timeout)
    # Built directly rather than by client.build_request, which would add the client's default
    # headers (Accept, Accept-Encoding, Connection, User-Agent) and its cookies.
    request = httpx.Request("POST", target, content=body, headers=headers)
    try:
        with _client(backend, timeout) as client:
            status_code, received = _exchange(client, request, max_body)
    except httpx.TimeoutException as exc:
        raise Unreachable(f"no answer within {timeout:g} s") from exc
    except httpx.ConnectError as exc:
        raise Unreachable(f"could not connect: {exc}") from exc
    except httpx.TransportError as exc:
        raise Unreachable(f"the exchange failed: {exc}") from exc
    return Answer(status_code=status_code, body=received, elapsed=time.monotonic() - started)


def _checked_url(url: str, *, allow_private: bool) -> httpx.URL:
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise Refused(f"not a valid URL: {exc}") from exc
    schemes = ("http", "https") if allow_private else ("https",)
    if target.scheme not in schemes:
        raise Refused(f"scheme {target.scheme!r} is not allowed, only {' or '.join(schemes)}")
    if target.userinfo:
        raise Refused("the URL carries credentials")
    if not target.host:
        raise Refused("the URL has no host")
    return target


def _log_refusal(url: str, reason: str) -> None:
    """Scheme, host and port only: the query string and userinfo may carry secrets."""
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL:
        security_logger.warning("refused a webhook delivery to an invalid URL: %s", reason)
        return
    host = f"[{target.host}]" if ":" in target.host else target.host
    port = target.port or (443 if target.scheme == "https" else 80)
    security_logger.warning("refused a webhook delivery to %s://%s:%s: %s", target.scheme, host, port, reason)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """certifi's roots, never SSL_CERT_FILE or SSL_CERT_DIR from the environment. Shared by all
    deliveries: loading the roots costs more than the rest of setting up a client."""
    return httpx.create_ssl_context(trust_env=False)


def _client(backend: GuardedBackend, timeout: float) -> httpx.Client:
    """A client for one delivery. Fresh each time because its backend carries that delivery's
    deadline, and so nothing (cookies, a pooled connection) outlives the delivery."""
    transport = httpx.HTTPTransport(verify=_tls_context(), trust_env=False)
    # httpx offers no public way to give its transport an httpcore network backend. The transport
    # is a thin adapter around `_pool` (request and response conversion, exception mapping), so the
    # pool is replaced by one that connects through the guard; the check stops an httpx release
    # that keeps something else there from silently sending unguarded.
    if type(transport._pool) is not httpcore.ConnectionPool:
        raise RuntimeError("httpx.HTTPTransport no longer holds an httpcore.ConnectionPool in _pool")
    transport._pool = httpcore.ConnectionPool(ssl_context=_tls_context(), max_connections=1, network_backend=backend)
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        # No HTTP(S)_PROXY: a proxy would make the connection, unguarded. httpx already mounts no
        # proxy from the environment when given a transport; this says so outright, and stays so.
        trust_env=False,
        follow_redirects=False,  # a 3xx is the answer; its Location is never contacted
    )


def _exchange(client: httpx.Client, request: httpx.Request, max_body: int) -> tuple[int, bytes]:
    response = client.send(request, stream=True)
    try:
        return response.status_code, _read_capped(response, max_body)
    finally:
        response.close()  # mid-body, this closes the connection: the rest is never read


def _read_capped(response: httpx.Response, max_body: int) -> bytes:
    # Raw bytes: decoding a Content-Encoding the receiver chose could inflate one chunk a thousandfold.
    received = bytearray()
    for chunk in response.iter_raw():
        received += chunk[: max_body - len(received)]
        if len(received) >= max_body:
            break
    return bytes(received)


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to public addresses, and only before the delivery's deadline.

    httpcore calls connect_tcp with the URL's host for every connection attempt, then start_tls on
    the stream with server_hostname set to that same host (httpcore/_sync/connection.py), so SNI
    and certificate checks use the name while the socket goes to the address checked here."""

    def __init__(self, *, allow_private: bool, deadline: float) -> None:
        self.allow_private = allow_private
        self.deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _before(self.deadline, timeout, httpcore.ConnectTimeout)
        address = self.checked_address(host, port)
        # An IP literal: create_connection's getaddrinfo parses it without asking any resolver.
        stream = super().connect_tcp(address, port, timeout, local_address, socket_options)
        return DeadlineStream(stream, self.deadline)

    def checked_address(self, host: str, port: int) -> str:
        """Resolve once; refuse unless every address is public; the first one, as a literal."""
        resolved = _resolve(host, port)
        if not self.allow_private:
            for info in resolved:
                _check_public(host, str(info[4][0]))
        return str(resolved[0][4][0])


class DeadlineStream(httpcore.NetworkStream):
    """Each read and write waits no longer than the delivery's deadline allows, so a receiver
    trickling bytes (each within the read timeout) cannot hold the worker past it."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self.stream = stream
        self.deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, _before(self.deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, _before(self.deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        timeout = _before(self.deadline, timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self.stream.start_tls(ssl_context, server_hostname, timeout), self.deadline)

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


def _before(deadline: float, timeout: float | None, expired: type[httpcore.TimeoutException]) -> float:
    """The step's timeout, cut to what is left before the deadline; raise `expired` if nothing is."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the delivery's deadline has passed")
    return left if timeout is None else min(timeout, left)


def _resolve(host: str, port: int) -> list[ResolvedAddress]:
    try:
        resolved = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    if not resolved:
        raise httpcore.ConnectError(f"{host} has no address")
    return list(resolved)


def _check_public(host: str, literal: str) -> None:
    address = _normalized(literal)
    kind = _non_public_kind(address)
    if kind is None:
        return
    if _is_literal(host):
        raise Refused(f"{address} is {kind}")
    raise Refused(f"{host} resolves to {address}, which is {kind}")


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Prefixes Python calls global although they lead to IPv4 networks or a deprecated local scope:
# the local-use NAT64 prefix (its embedded address may sit anywhere) and site-local addresses.
NOT_PUBLIC_V6 = (ipaddress.IPv6Network("64:ff9b:1::/48"), ipaddress.IPv6Network("fec0::/10"))


def _normalized(literal: str) -> IPAddress:
    """Zone id stripped; an IPv6 address that carries an IPv4 one (IPv4-mapped, NAT64's
    well-known prefix, 6to4, Teredo's client) as that IPv4 address, which is where it leads."""
    return embedded_ipv4(ipaddress.ip_address(literal.split("%", 1)[0]))


def embedded_ipv4(address: IPAddress) -> IPAddress:
    if not isinstance(address, ipaddress.IPv6Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return address


def is_public(address: IPAddress) -> bool:
    address = embedded_ipv4(address)
    if isinstance(address, ipaddress.IPv6Address) and any(address in net for net in NOT_PUBLIC_V6):
        return False
    return address.is_global and not address.is_multicast


def _is_literal(host: str) -> bool:
    try:
        _normalized(host)
    except ValueError:
        return False
    return True


def _non_public_kind(address: IPAddress) -> str | None:
    """None for a public address, else what kind of address it is, for the refusal message."""
    if is_public(address):  # multicast ranges can be "global", so can some IPv6 site prefixes
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_private:
        return "a private address"
    return "not a public address"
