"""Which URLs a webhook may call: no server-side request forgery.

A URL is ``http`` or ``https`` with a host and no user information. Its host is resolved and
every address it resolves to must be a loopback one — unless the host is named in the setting
``notify.allowed_hosts``, or every address falls in a network listed there (``10.0.0.0/8``).
The check is made when the subscription is created and again before every POST, and the POST
goes to the address that was checked (a name that resolves elsewhere a moment later is never
called); redirects are not followed (a 3xx is a failure).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from service.engine.notify.errors import NotifyInputError

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written (the Host header, the name TLS checks)
    port: int
    path: str  # with its query
    address: str  # the checked address the POST connects to


def _networks(allowed: Sequence[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for item in allowed:
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            continue  # a host name
    return out


def resolve(url: str, *, allowed: Sequence[str] = ()) -> Target:
    """The URL's target, checked; :class:`NotifyInputError` saying why not."""
    if len(url) > 2_000:
        raise NotifyInputError("url: at most 2,000 characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise NotifyInputError(f"url: scheme {parts.scheme!r}; http or https only")
    if parts.username or parts.password:
        raise NotifyInputError("url: no user or password in the URL (the secret signs)")
    host = parts.hostname
    if not host:
        raise NotifyInputError("url: no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise NotifyInputError("url: the port is not a number from 0 to 65535") from None
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise NotifyInputError(f"url: host {host!r} does not resolve ({exc})") from None
    addresses: list[IP] = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    named = host.lower() in {a.lower() for a in allowed}
    networks = _networks(allowed)
    ok = named or all(a.is_loopback or any(a in n for n in networks) for a in addresses)
    if not addresses or not ok:
        shown = ", ".join(sorted({str(a) for a in addresses}))
        raise NotifyInputError(
            f"url: host {host!r} resolves to {shown}, not a loopback address; other hosts "
            "must be listed in the setting notify.allowed_hosts"
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, str(addresses[0]))
