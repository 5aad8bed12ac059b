"""ballast: keep dead weight out of container images.

The public names of the core, and nothing else.
"""

from __future__ import annotations

from ballast._errors import (
    AuthError,
    BallastError,
    CacheError,
    ConfigError,
    DigestMismatch,
    InvalidReference,
    LayerError,
    NotFound,
    PolicyError,
    RateLimited,
    RegistryError,
    RegistryUnavailable,
    TooLarge,
    UnsupportedMedia,
)
from ballast.reference import Reference, parse_reference

__all__ = [
    "AuthError",
    "BallastError",
    "CacheError",
    "ConfigError",
    "DigestMismatch",
    "InvalidReference",
    "LayerError",
    "NotFound",
    "PolicyError",
    "RateLimited",
    "Reference",
    "RegistryError",
    "RegistryUnavailable",
    "TooLarge",
    "UnsupportedMedia",
    "parse_reference",
]
