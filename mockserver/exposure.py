"""Who can reach the mock: a loopback address (this machine only) or a network. On loopback the
mock is as open as a mock should be; off it, ``serve`` guards the admin API with a token, answers
no other origins, and the admin API keeps passwords from callers that are not on this machine."""

from __future__ import annotations

import ipaddress

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
