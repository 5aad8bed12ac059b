"""Which registry hosts may be contacted at all (pod specs are untrusted input).

An image reference in a pod spec chooses the host ballast connects to, so a
reference such as ``169.254.169.254/latest/meta-data`` would make the webhook
fetch the cloud metadata service. Hosts that resolve to loopback, link-local,
private, reserved or multicast addresses are refused unless configured as
insecure or allowed-private registries.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable

from ballast._errors import RegistryUnavailable

Resolver = Callable[[str], list[str]]
_RESOLVE_TTL_S = 30.0


def system_resolver(host: str) -> list[str]:
    """All addresses ``host`` resolves to (A and AAAA)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


def is_public_address(address: str) -> bool:
    """True for globally routable unicast addresses only."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def split_host_port(host: str) -> tuple[str, int | None]:
    """``registry:5000`` → (``registry``, 5000); ``[::1]:5000`` → (``::1``, 5000)."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, int(rest[1:]) if rest.startswith(":") else None
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        return name, int(port)
    return host, None


class HostGuard:
    """Decides, and remembers for a while, whether a registry host may be contacted."""

    def __init__(
        self,
        *,
        trusted_hosts: Iterable[str],
        resolver: Resolver = system_resolver,
    ) -> None:
        self._trusted = {h.lower() for h in trusted_hosts}
        self._resolver = resolver
        self._verdicts: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def is_trusted(self, host: str) -> bool:
        return host.lower() in self._trusted

    def check(self, host: str, *, image: str = "") -> None:
        """Raise RegistryUnavailable if ``host`` is not allowed; cached for 30 s."""
        if self.is_trusted(host):
            return
        now = time.monotonic()
        with self._lock:
            cached = self._verdicts.get(host)
        if cached is None or cached[0] < now:
            reason = self._reason_to_refuse(host)
            cached = (now + _RESOLVE_TTL_S, reason)
            with self._lock:
                self._verdicts[host] = cached
        if cached[1] is not None:
            raise RegistryUnavailable(cached[1], host=host, image=image)

    def _reason_to_refuse(self, host: str) -> str | None:
        name, _ = split_host_port(host)
        try:
            addresses = [name] if _is_ip_literal(name) else self._resolver(name)
        except (OSError, UnicodeError) as exc:
            return f"registry host {host} does not resolve ({exc}); check the image name"
        blocked = [a for a in addresses if not is_public_address(a)]
        if not addresses or blocked:
            return (
                f"registry host {host} resolves to a non-public address "
                f"({', '.join(blocked) or 'none'}); ballast refuses it to prevent SSRF. "
                "If this is your registry, add it to BALLAST_INSECURE_REGISTRIES (plain HTTP) "
                "or BALLAST_REGISTRY__ALLOWED_PRIVATE_REGISTRIES (HTTPS)"
            )
        return None


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    return True
