"""Installed packages, read from the package databases found in layers.

Owns :class:`PackageInfo` / :class:`PackageDb` and the two parsers: dpkg's
``var/lib/dpkg/status`` (and distroless ``var/lib/dpkg/status.d/*``, one
stanza per file; ``Installed-Size`` is in KiB) and apk's
``lib/apk/db/installed`` (``I:`` is in bytes). Databases are parsed while the
layer streams, so only these compact records are kept and cached. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Manager = Literal["dpkg", "apk"]

DPKG_STATUS: Final = "var/lib/dpkg/status"
DPKG_STATUS_DIR: Final = "var/lib/dpkg/status.d/"
APK_INSTALLED: Final = "lib/apk/db/installed"


@dataclass(frozen=True, slots=True)
class PackageInfo:
    """One installed package."""

    name: str
    """Package name (``gcc-12``)."""
    version: str
    """Version string as the database gives it."""
    installed_bytes: int
    """Unpacked size the package manager declares, in bytes (dpkg: KiB × 1024)."""
    manager: Manager
    """Which database it came from."""
    layer: int = -1
    """Index of the layer that installed it (-1 until :func:`combine` sets it)."""


@dataclass(frozen=True, slots=True)
class PackageDb:
    """The packages one database file lists, as one layer wrote it."""

    path: str
    """Path of the database file in the image (``var/lib/dpkg/status``)."""
    manager: Manager
    """dpkg or apk."""
    packages: tuple[PackageInfo, ...]
    """Installed packages, in database order."""
    complete: bool = True
    """False when the file was larger than the capture cap and only its start was parsed."""


def database_manager(path: str) -> Manager | None:
    """Tell whether a clean path is a package database ballast reads, and whose."""
    if path == DPKG_STATUS or (path.startswith(DPKG_STATUS_DIR) and "/" not in path[22:]):
        return "dpkg"
    if path == APK_INSTALLED:
        return "apk"
    return None


def parse_database(path: str, data: bytes, *, complete: bool = True) -> PackageDb | None:
    """Parse a captured database file; ``None`` if ``path`` is not one."""
    manager = database_manager(path)
    if manager is None:
        return None
    text = data.decode("utf-8", "replace")
    if not complete:
        # Only whole stanzas: drop the one the cap cut in half.
        cut = text.rfind("\n\n")
        text = text[:cut] if cut >= 0 else ""
    packages = parse_dpkg_status(text) if manager == "dpkg" else parse_apk_installed(text)
    return PackageDb(path=path, manager=manager, packages=packages, complete=complete)


def _stanzas(text: str) -> list[str]:
    return [s for s in text.replace("\r\n", "\n").split("\n\n") if s.strip()]


def parse_dpkg_status(text: str) -> tuple[PackageInfo, ...]:
    """Installed packages of a dpkg status file (deb822 stanzas).

    A package counts when its ``Status`` says ``installed`` (``install ok
    installed``, ``hold ok installed``) or has no ``Status`` at all, as in
    distroless ``status.d`` files. Removed or config-files-only packages do not.
    """
    packages: list[PackageInfo] = []
    for stanza in _stanzas(text):
        fields: dict[str, str] = {}
        for line in stanza.split("\n"):
            if not line or line[0] in " \t":
                continue
            key, sep, value = line.partition(":")
            if sep and key in ("Package", "Status", "Version", "Installed-Size"):
                fields[key] = value.strip()
        name = fields.get("Package")
        if not name:
            continue
        status = fields.get("Status")
        if status is not None and status.split()[-1:] != ["installed"]:
            continue
        try:
            kib = int(fields.get("Installed-Size", "0") or "0")
        except ValueError:
            kib = 0
        packages.append(
            PackageInfo(
                name=name,
                version=fields.get("Version", ""),
                installed_bytes=max(kib, 0) * 1024,
                manager="dpkg",
            )
        )
    return tuple(packages)


def parse_apk_installed(text: str) -> tuple[PackageInfo, ...]:
    """Installed packages of an apk ``installed`` database (``P:``/``V:``/``I:`` lines)."""
    packages: list[PackageInfo] = []
    for stanza in _stanzas(text):
        name = version = ""
        size = 0
        for line in stanza.split("\n"):
            if line.startswith("P:"):
                name = line[2:].strip()
            elif line.startswith("V:"):
                version = line[2:].strip()
            elif line.startswith("I:"):
                try:
                    size = max(int(line[2:].strip() or "0"), 0)
                except ValueError:
                    size = 0
        if name:
            packages.append(
                PackageInfo(name=name, version=version, installed_bytes=size, manager="apk")
            )
    return tuple(packages)
