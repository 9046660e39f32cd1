"""Who can reach the mock: a loopback address (this machine only) or a network. On loopback the
mock is as open as a mock should be; off it, ``serve`` guards the admin API with a token, answers
no other origins, and the admin API keeps passwords from callers that are not on this machine."""

from __future__ import annotations

import hmac
import ipaddress
import socket

from aiohttp import web


def loopback_host(host: str) -> bool:
    """Whether binding ``host`` keeps the mock on this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name other than localhost: it may resolve to anything
    return address.is_loopback


def holds_admin_token(header: str | None, token: str | None) -> bool:
    """Whether an ``Authorization`` header carries the admin token (``Bearer TOKEN``), compared in
    constant time. No token configured (None or empty): nobody holds it."""
    if not token or not header:
        return False
    kind, _, given = header.partition(" ")
    return kind.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def addresses_for(host: str) -> list[str]:
    """Where other machines reach a server bound to ``host``: the host itself, or for an
    address that means "every address" (``0.0.0.0``, ``::``, empty) this machine's own
    non-loopback ones (found without sending anything)."""
    if host.strip("[]") not in ("", "0.0.0.0", "::"):
        return [host]
    found: list[str] = []
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            address = str(info[4][0])
            if not ipaddress.ip_address(address).is_loopback and address not in found:
                found.append(address)
    except OSError:
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.254", 9))  # UDP: picks the route's source address, sends nothing
            address = str(probe.getsockname()[0])
            if not ipaddress.ip_address(address).is_loopback and address not in found:
                found.append(address)
        except OSError:
            pass
    return found or ["127.0.0.1"]


def loopback_peer(request: web.BaseRequest) -> bool:
    """Whether the caller is on this machine (its peer address is a loopback one)."""
    remote = request.remote
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback
