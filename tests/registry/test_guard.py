"""Registry hosts named in pod specs cannot make ballast call internal addresses (SSRF)."""

from __future__ import annotations

import pytest

from ballast import RegistryUnavailable
from ballast.registry.guard import HostGuard, split_host_port


def fake_dns(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str) -> list[str]:
        if host not in table:
            raise OSError("no such host")
        return table[host]

    return resolve


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:5000",
        "169.254.169.254",
        "10.1.2.3",
        "192.168.0.10:443",
        "[::1]:5000",
        "[fd00::1]",
        "0.0.0.0",
        "metadata.internal",
        "[::ffff:127.0.0.1]",
    ],
)
def test_private_loopback_and_link_local_hosts_are_refused(host: str) -> None:
    guard = HostGuard(
        trusted_hosts=[], resolver=fake_dns({"metadata.internal": ["169.254.169.254"]})
    )
    with pytest.raises(RegistryUnavailable, match="non-public address") as caught:
        guard.check(host, image=f"{host}/x:1")
    assert "BALLAST_INSECURE_REGISTRIES" in str(caught.value)


def test_a_name_resolving_to_any_private_address_is_refused() -> None:
    guard = HostGuard(
        trusted_hosts=[], resolver=fake_dns({"mixed.example": ["8.8.8.8", "10.0.0.5"]})
    )
    with pytest.raises(RegistryUnavailable, match="10.0.0.5"):
        guard.check("mixed.example")


def test_public_hosts_and_configured_registries_are_allowed() -> None:
    guard = HostGuard(
        trusted_hosts=["127.0.0.1:5000", "registry.internal:443"],
        resolver=fake_dns({"ghcr.io": ["140.82.112.33"]}),
    )
    guard.check("ghcr.io")
    guard.check("127.0.0.1:5000")
    guard.check("registry.internal:443")
    with pytest.raises(RegistryUnavailable):
        guard.check("127.0.0.1:5001")  # trust is per host:port, as Docker's insecure-registries


def test_unresolvable_host_says_to_check_the_image_name() -> None:
    guard = HostGuard(trusted_hosts=[], resolver=fake_dns({}))
    with pytest.raises(RegistryUnavailable, match="does not resolve"):
        guard.check("nope.invalid")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("registry:5000", ("registry", 5000)),
        ("[::1]:5000", ("::1", 5000)),
        ("[::1]", ("::1", None)),
        ("ghcr.io", ("ghcr.io", None)),
    ],
)
def test_split_host_port(host: str, expected: tuple[str, int | None]) -> None:
    assert split_host_port(host) == expected
