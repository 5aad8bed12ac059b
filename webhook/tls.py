"""TLS for the webhook: a self-signed certificate for local use, and hot reloading.

cert-manager rotates the serving certificate by rewriting the mounted files;
the webhook must pick the new pair up without a restart. gunicorn asks for an
SSL context for every new connection (gthread), so :class:`ReloadingContext`
hands out one cached context and builds a fresh one when the files' mtimes or
sizes change (checked at most once a second). Connections already open keep
the context they were made with.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ballast._errors import ConfigError

logger = logging.getLogger(__name__)

SELF_SIGNED_DAYS = 365
_CHECK_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class CertificatePair:
    """Paths of a PEM certificate chain and its private key."""

    cert: Path
    key: Path


def write_self_signed(
    directory: Path, *, hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
) -> CertificatePair:
    """Create a self-signed serving certificate (EC P-256) for ``hosts`` in ``directory``.

    The certificate is its own CA: give ``cert.pem`` to clients as the CA
    bundle (``caBundle`` of a webhook configuration, ``curl --cacert``).
    """
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pair = CertificatePair(directory / "tls.crt", directory / "tls.key")
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(pair.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return pair


def load_server_context(pair: CertificatePair) -> ssl.SSLContext:
    """A TLS 1.2+ server context for ``pair``; ConfigError says which file is wrong."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile=str(pair.cert), keyfile=str(pair.key))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"TLS file not found: {exc.filename}; pass --cert and --key, or --self-signed"
        ) from exc
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"cannot load TLS certificate {pair.cert} with key {pair.key}: {exc}; "
            "check that both are PEM and belong together"
        ) from exc
    return context


class ReloadingContext:
    """The current SSL context for a certificate pair, rebuilt when the files change."""

    def __init__(self, pair: CertificatePair) -> None:
        self._pair = pair
        self._lock = threading.Lock()
        self._stamp = self._file_stamp()
        self._context = load_server_context(pair)
        self._checked_at = time.monotonic()
        self.reloads = 0

    def _file_stamp(self) -> tuple[float, int, float, int]:
        try:
            cert, key = self._pair.cert.stat(), self._pair.key.stat()
        except OSError:
            return (0.0, 0, 0.0, 0)
        return (cert.st_mtime, cert.st_size, key.st_mtime, key.st_size)

    def current(self) -> ssl.SSLContext:
        """The context for a new connection; a broken new pair keeps the old one serving."""
        now = time.monotonic()
        if now - self._checked_at < _CHECK_INTERVAL_S:
            return self._context
        with self._lock:
            self._checked_at = now
            stamp = self._file_stamp()
            if stamp != self._stamp and stamp[0]:
                try:
                    self._context = load_server_context(self._pair)
                except ConfigError as exc:
                    # Half-written rotation: keep serving the old pair, retry next second.
                    logger.warning("TLS reload failed, keeping the previous certificate: %s", exc)
                else:
                    self._stamp = stamp
                    self.reloads += 1
                    logger.info("TLS certificate reloaded from %s", self._pair.cert)
        return self._context
