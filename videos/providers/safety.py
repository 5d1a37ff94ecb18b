"""Where a content download may go (SSRF guard).

Asset URLs are built from the configured base URL, except a CDN address a provider answers
with (checked by check_public_asset); a redirect answer can point elsewhere too. A redirect is followed when it stays on the provider's host or goes to a host the
configuration allows, and only to public addresses: loopback is accepted solely for the
configured base URL's own host:port (the built-in emulator), never another port on it.
"""

from __future__ import annotations

import ipaddress
import logging
import socket

import httpx

from videos.providers.types import ProviderConfig, ProviderError

security_logger = logging.getLogger("videos.providers.security")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def host_port(url: httpx.URL) -> tuple[str, int]:
    host = url.host.lower().rstrip(".")
    port = url.port or (443 if url.scheme == "https" else 80)
    return host, port


def safe_url_for_log(url: httpx.URL) -> str:
    """Scheme, host, port and path only: signed query strings carry credentials."""
    return str(url.copy_with(query=None, fragment=None, username=None, password=None))


def https_or_loopback(url: str) -> bool:
    """Whether a callback URL suits a provider that takes only https ones: https, or plain http to
    a loopback address (a developer's machine, which only the emulator can reach)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return False
    if parsed.scheme == "https":
        return True
    host = parsed.host.lower().rstrip(".")
    if parsed.scheme != "http":
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def blocked(config: ProviderConfig, target: httpx.URL | str, reason: str, *, permanent: bool = True) -> ProviderError:
    shown = safe_url_for_log(target) if isinstance(target, httpx.URL) else str(target)[:200]
    security_logger.warning("provider %s: refused redirect to %s: %s", config.name or config.base_url, shown, reason)
    return ProviderError(f"Refused to follow a redirect: {reason}", permanent=permanent, code="redirect_blocked")


def resolve(host: str, port: int) -> list[IPAddress]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        addresses.append(address)
    return addresses


def _is_allow_listed(config: ProviderConfig, host: str, port: int) -> bool:
    for entry in config.redirect_allow_hosts:
        entry = entry.strip().lower().rstrip(".")
        if entry in (host, f"{host}:{port}"):
            return True
        if entry.startswith(".") and host.endswith(entry):  # ".example.com": any host below it
            return True
    return False


def check_redirect(config: ProviderConfig, current: httpx.URL, target: httpx.URL) -> None:
    """Raise ProviderError (and log a security warning) unless `target` may be fetched."""
    if target.scheme not in ("http", "https"):
        raise blocked(config, target, f"scheme {target.scheme!r} is not http(s)")
    if current.scheme == "https" and target.scheme == "http":
        raise blocked(config, target, "downgrade from https to http")
    if target.userinfo:
        raise blocked(config, target, "credentials in the URL")
    if not target.host:
        raise blocked(config, target, "no host")
    base = httpx.URL(config.base_url)
    base_host, base_port = host_port(base)
    host, port = host_port(target)
    if (host, port) == (base_host, base_port):
        return  # the configured provider itself, whatever address it lives on
    if host != base_host and not _is_allow_listed(config, host, port):
        raise blocked(config, target, f"host {host!r} is not the provider's host nor in the allow-list")
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise blocked(config, target, f"cannot resolve {host!r}: {exc}", permanent=False) from exc
    base_is_loopback = _resolves_to_loopback(base_host, base_port)
    for address in addresses:
        if address.is_global and not address.is_multicast:
            continue
        if address.is_loopback and base_is_loopback and port == base_port:
            continue  # another name for the configured loopback provider (emulator)
        raise blocked(config, target, f"{host!r} resolves to non-public address {address}")


def check_public_asset(config: ProviderConfig, target: httpx.URL) -> None:
    """A CDN address a provider answered with: https, an allowed host, public addresses only.
    The provider's own host:port (the built-in emulator's CDN) is as trusted as its API."""
    base = httpx.URL(config.base_url)
    if host_port(target) != host_port(base) and target.scheme != "https":
        raise blocked(config, target, "a CDN download must use https")
    check_redirect(config, base, target)


def _resolves_to_loopback(host: str, port: int) -> bool:
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        return False
    return bool(addresses) and all(address.is_loopback for address in addresses)
