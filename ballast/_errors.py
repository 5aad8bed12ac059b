"""The whole exception tree of ballast.

Every error a user can meet is one of these, and its message says what
happened, to what, and what to do next. Library exceptions (httpx, sqlite3,
yaml) are wrapped at the adapter with ``raise ... from exc`` and never escape.

::

    BallastError
    ├── InvalidReference          an image reference that does not parse
    ├── RegistryError             anything a registry did or did not do  (.host, .image)
    │   ├── AuthError             401/403, bad or missing credentials
    │   ├── NotFound              404 for a manifest or blob
    │   ├── RateLimited           429 after honouring Retry-After
    │   ├── RegistryUnavailable   connect/read failures, 5xx after retries, refused hosts
    │   ├── TooLarge              a manifest/config/blob above its size cap
    │   ├── DigestMismatch        content whose sha256 is not the one asked for
    │   └── UnsupportedMedia      schema1, unknown media types, no matching platform
    ├── LayerError                a layer or archive that cannot be read safely
    ├── PolicyError               a policy document that does not validate
    ├── CacheError                the facts store cannot be opened or used
    └── ConfigError               settings or credentials files that are wrong

Programmer mistakes (misuse of an API) are plain TypeError/RuntimeError.
"""

from __future__ import annotations


class BallastError(Exception):
    """Base of every error ballast reports to a user."""


class InvalidReference(BallastError):
    """An image reference that does not follow the reference grammar."""

    def __init__(self, message: str, *, reference: str) -> None:
        super().__init__(message)
        self.reference = reference


class RegistryError(BallastError):
    """A registry request failed; carries the registry host and image."""

    def __init__(
        self, message: str, *, host: str = "", image: str = "", status: int | None = None
    ) -> None:
        super().__init__(message)
        self.host = host
        self.image = image
        self.status = status


class AuthError(RegistryError):
    """The registry refused the (possibly absent) credentials."""


class NotFound(RegistryError):
    """The repository, tag, manifest or blob does not exist."""


class RateLimited(RegistryError):
    """The registry kept answering 429 after we waited as it asked."""


class RegistryUnavailable(RegistryError):
    """The registry could not be reached, timed out, kept failing, or is not allowed."""


class TooLarge(RegistryError):
    """A document or blob is larger than its configured cap."""


class DigestMismatch(RegistryError):
    """Content read from the registry does not hash to the digest it was fetched by."""


class UnsupportedMedia(RegistryError):
    """A manifest kind ballast does not read (schema1), or no manifest for the platform."""


class LayerError(BallastError):
    """A layer or image archive that cannot be read safely."""

    def __init__(self, message: str, *, layer_digest: str = "") -> None:
        super().__init__(message)
        self.layer_digest = layer_digest


class PolicyError(BallastError):
    """A policy document that does not validate; lists every problem at once."""

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class CacheError(BallastError):
    """The facts store cannot be opened or used."""


class ConfigError(BallastError):
    """Settings, environment variables or credential files that are wrong."""
