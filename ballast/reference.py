"""Image reference parsing: the grammar, Docker normalisation and digest checks.

This module owns the container image reference grammar exactly as
github.com/distribution/reference defines it (``regexp.go``), its Docker
normalisation (``ParseNormalizedNamed``: ``ubuntu`` is
``docker.io/library/ubuntu``) and the validation of the digest that pins a
reference (go-digest ``Digest.Validate``, with sha256 as the only algorithm).

It imports nothing from the rest of ballast except ``ballast._errors``: every
other module may depend on it, and it stays pure (no I/O, no logging).

Every invalid reference raises :class:`ballast._errors.InvalidReference` with
a message for the user and a short machine-readable ``reason`` attribute,
one per upstream error class (see :data:`InvalidReason`).

Grammar (upstream ``reference.go``)::

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain '/'] remote-name
    domain           := host [':' port-number]
    host             := domain-name | IPv4address | \\[ IPv6address \\]
    domain-name      := domain-component ['.' domain-component]*
    domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
    port-number      := /[0-9]+/
    path-component   := alpha-numeric [separator alpha-numeric]*
    remote-name      := path-component ['/' path-component]*
    alpha-numeric    := /[a-z0-9]+/
    separator        := /[_.]|__|[-]+/
    tag              := /[\\w][\\w.-]{0,127}/
    digest           := algorithm ":" /[0-9a-fA-F]{32,}/
    identifier       := /[a-f0-9]{64}/
"""

from __future__ import annotations

import functools
import re
from dataclasses import KW_ONLY, dataclass
from typing import Final, Literal

from ballast._errors import InvalidReference

__all__ = [
    "DEFAULT_REGISTRY",
    "DEFAULT_TAG",
    "DIGEST_RE",
    "DOCKER_HUB_API_HOST",
    "DOMAIN_RE",
    "IDENTIFIER_RE",
    "NAME_RE",
    "REFERENCE_RE",
    "REPOSITORY_PATH_MAX_LENGTH",
    "SUPPORTED_DIGEST_ALGORITHMS",
    "TAG_RE",
    "InvalidReason",
    "Reference",
    "ReferenceParts",
    "is_digest",
    "parse_reference",
    "parse_strict",
]

InvalidReason = Literal[
    "format",  # does not match the grammar (upstream ErrReferenceInvalidFormat)
    "uppercase",  # uppercase in the repository path (ErrNameContainsUppercase and friends)
    "name-empty",  # empty input to the strict parser (ErrNameEmpty)
    "name-too-long",  # repository path above 255 characters (ErrNameTooLong)
    "tag-format",  # with_tag() got something that is not a tag (ErrTagInvalidFormat)
    "digest-format",  # digest that is not algorithm:hex as the algorithm wants it
    "digest-length",  # sha256 digest whose hex part is not 64 characters
    "digest-unsupported",  # a well-formed digest with an algorithm other than sha256
    "identifier-64-hex",  # a bare 64-hex string, which is an image ID and not a name
]
"""Why a reference was rejected; set as ``InvalidReference.reason``.

Each code stands for one upstream error class, so callers and tests can tell
them apart without reading the message.
"""

DEFAULT_REGISTRY: Final = "docker.io"
"""Registry of references that name none ("ubuntu"), as Docker spells it."""

DOCKER_HUB_API_HOST: Final = "registry-1.docker.io"
"""The host that actually serves the registry API for ``docker.io``."""

DEFAULT_TAG: Final = "latest"
"""Tag assumed when a reference has neither a tag nor a digest."""

REPOSITORY_PATH_MAX_LENGTH: Final = 255
"""Longest repository path; since distribution/reference aaca75e (2024-02) the
registry host does not count towards it."""

SUPPORTED_DIGEST_ALGORITHMS: Final = frozenset({"sha256"})
"""Digest algorithms ballast can verify (upstream's tests register only sha256)."""

_LEGACY_DEFAULT_REGISTRY: Final = "index.docker.io"
_OFFICIAL_REPOSITORY_PREFIX: Final = "library/"
_HEX_LENGTH: Final = {"sha256": 64}
_MESSAGE_TEXT_MAX_CHARS: Final = 200
_EXPECTED_FORM: Final = "[registry[:port]/]repository[:tag][@sha256:<64 hex characters>]"

# The pieces of upstream regexp.go. Python's \w and [[:xdigit:]] differ from
# Go's (Unicode / unsupported), so both are spelled out as ASCII classes.
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_OPTIONAL_PORT = r"(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}"
_IDENTIFIER = r"[a-f0-9]{64}"
_IPV6_ADDRESS = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6_ADDRESS})"
_DOMAIN_AND_PORT = _HOST + _OPTIONAL_PORT
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"


def _anchored(pattern: str) -> re.Pattern[str]:
    # \A and \Z rather than ^ and $: Python's $ also matches before a final
    # newline, which would let "nginx\n" through.
    return re.compile(rf"\A(?:{pattern})\Z")


DOMAIN_RE: Final = _anchored(_DOMAIN_AND_PORT)
"""A registry host with optional port (upstream anchored ``DomainRegexp``)."""

NAME_RE: Final = _anchored(rf"(?:(?P<domain>{_DOMAIN_AND_PORT})/)?(?P<path>{_REMOTE_NAME})")
"""A name without tag or digest; groups ``domain`` and ``path`` (upstream
``anchoredNameRegexp``)."""

REFERENCE_RE: Final = _anchored(
    rf"(?P<name>(?:(?P<domain>{_DOMAIN_AND_PORT})/)?(?P<path>{_REMOTE_NAME}))"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?"
)
"""A whole reference (upstream ``ReferenceRegexp``); groups ``name``, ``tag``
and ``digest`` as upstream, and ``domain`` and ``path`` inside ``name`` as
upstream's ``anchoredNameRegexp`` would split it."""

TAG_RE: Final = _anchored(_TAG)
"""A tag: 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-'."""

DIGEST_RE: Final = _anchored(_DIGEST)
"""The reference grammar's digest shape (``algorithm:hex``, at least 32 hex
characters). Shape only: :func:`is_digest` also checks algorithm and length."""

IDENTIFIER_RE: Final = _anchored(_IDENTIFIER)
"""A bare 64-hex image ID (upstream ``anchoredIdentifierRegexp``)."""

# go-digest's DigestRegexpAnchored, used only to tell "unsupported" from "malformed".
_GO_DIGEST_RE: Final = _anchored(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_SHA256_HEX_RE: Final = _anchored(r"[a-f0-9]{64}")
_SHA256_DIGEST_RE: Final = _anchored(r"sha256:[a-f0-9]{64}")


@dataclass(frozen=True, slots=True)
class Reference:
    """A normalised image reference: registry, repository path, tag, digest.

    ``tag`` is None when the reference did not name one, so a policy can still
    tell ``nginx`` from ``nginx:latest``; ``str()`` and :attr:`reference` fill
    in ``latest`` where a registry needs a tag. Build one with
    :func:`parse_reference`, :meth:`with_tag` or :meth:`with_digest`; the
    constructor does not validate.
    """

    registry: str
    repository: str
    _: KW_ONLY
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        """The fully qualified form, e.g. ``docker.io/library/ubuntu:latest``.

        A digest-only reference gets no tag; a tag and a digest are both kept.
        """
        if self.tag is not None:
            text = f"{self.registry}/{self.repository}:{self.tag}"
        elif self.digest is None:
            text = f"{self.registry}/{self.repository}:{DEFAULT_TAG}"
        else:
            text = f"{self.registry}/{self.repository}"
        return text if self.digest is None else f"{text}@{self.digest}"

    @property
    def name(self) -> str:
        """``registry/repository``, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def familiar(self) -> str:
        """The short form Docker shows (upstream ``FamiliarString``).

        ``docker.io/`` is dropped, and so is ``library/`` when nothing nests
        below it; tag and digest are kept as written, no default tag is added.
        """
        repository = self.repository
        if self.registry == DEFAULT_REGISTRY:
            official = repository.removeprefix(_OFFICIAL_REPOSITORY_PREFIX)
            if official != repository and "/" not in official:
                repository = official
            text = repository
        else:
            text = f"{self.registry}/{repository}"
        if self.tag is not None:
            text = f"{text}:{self.tag}"
        if self.digest is not None:
            text = f"{text}@{self.digest}"
        return text

    @property
    def reference(self) -> str:
        """What goes into ``/v2/<repository>/manifests/<reference>``.

        The digest when there is one (it pins the content, the tag may have
        moved), else the tag, else ``latest``.
        """
        if self.digest is not None:
            return self.digest
        return self.tag if self.tag is not None else DEFAULT_TAG

    @property
    def api_registry(self) -> str:
        """The host to contact: Docker Hub's API lives on registry-1.docker.io."""
        return DOCKER_HUB_API_HOST if self.registry == DEFAULT_REGISTRY else self.registry

    def with_tag(self, tag: str) -> Reference:
        """The same reference with ``tag``; a digest, if any, is kept.

        Raises InvalidReference (reason "tag-format") if ``tag`` is not a tag.
        """
        if not isinstance(tag, str):
            raise TypeError(f"tag must be a str, not {type(tag).__name__}")
        if TAG_RE.match(tag) is None:
            raise _invalid(
                f"invalid tag format {_shorten(tag)!r} for {self.name}: a tag is 1 to 128 "
                "letters, digits, '_', '.' or '-' and must not start with '.' or '-'",
                reference=f"{self.name}:{tag}",
                reason="tag-format",
            )
        return Reference(self.registry, self.repository, tag=tag, digest=self.digest)

    def with_digest(self, digest: str) -> Reference:
        """The same reference pinned to ``digest``; a tag, if any, is kept.

        Unlike upstream ``WithDigest``, which only checks the shape, the digest
        must be one ballast can verify (sha256, 64 lowercase hex), so that the
        result always parses back. Raises InvalidReference ("digest-format",
        "digest-length" or "digest-unsupported").
        """
        if not isinstance(digest, str):
            raise TypeError(f"digest must be a str, not {type(digest).__name__}")
        text = f"{self.name}@{digest}"
        if DIGEST_RE.match(digest) is None:
            raise _invalid(
                f"invalid digest format {_shorten(digest)!r} for {self.name}: "
                "expected sha256:<64 lowercase hex characters>",
                reference=text,
                reason="digest-format",
            )
        _check_digest(digest, text=text)
        return Reference(self.registry, self.repository, tag=self.tag, digest=digest)


@dataclass(frozen=True, slots=True)
class ReferenceParts:
    """A reference split as written, without normalisation (upstream ``Parse``).

    ``domain`` is "" when the first component is not followed by a path or
    does not look like a host; nothing is filled in.
    """

    domain: str
    path: str
    _: KW_ONLY
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        """The reference as upstream ``String()`` writes it."""
        text = self.name
        if self.tag is not None:
            text = f"{text}:{self.tag}"
        if self.digest is not None:
            text = f"{text}@{self.digest}"
        return text

    @property
    def name(self) -> str:
        """``domain/path``, or just ``path`` when there is no domain."""
        return f"{self.domain}/{self.path}" if self.domain else self.path


def parse_reference(text: str) -> Reference:
    """Parse an image reference the way Docker and Kubernetes resolve it.

    Follows upstream ``ParseNormalizedNamed``: the first component is the
    registry only if it contains "." or ":", is "localhost", or has uppercase
    letters; ``index.docker.io`` becomes ``docker.io``; otherwise the registry
    is ``docker.io`` and a single-component path gets ``library/``. Results are
    cached, as the webhook parses every image of every admission request.

    Raises InvalidReference whose ``reason`` says what is wrong (see
    :data:`InvalidReason`); TypeError if ``text`` is not a str.
    """
    if not isinstance(text, str):
        raise TypeError(f"image reference must be a str, not {type(text).__name__}")
    return _parse_normalized(text)


def parse_strict(text: str) -> ReferenceParts:
    """Split a reference as written, without Docker normalisation (upstream ``Parse``).

    For tools that must show or compare references exactly as given; anything
    that talks to a registry wants :func:`parse_reference`. Raises
    InvalidReference as :func:`parse_reference` does, with reason "name-empty"
    for an empty string.
    """
    if not isinstance(text, str):
        raise TypeError(f"image reference must be a str, not {type(text).__name__}")
    return _split(text, original=text)


def is_digest(text: str) -> bool:
    """Whether ``text`` is a digest ballast can verify: ``sha256:`` + 64 lowercase hex."""
    return _SHA256_DIGEST_RE.match(text) is not None


@functools.lru_cache(maxsize=4096)
def _parse_normalized(text: str) -> Reference:
    if IDENTIFIER_RE.match(text) is not None:
        raise _invalid(
            f"invalid reference {text!r}: a 64-character hex string is an image ID, not "
            f"a repository name; use a repository name or @sha256:{text}",
            reference=text,
            reason="identifier-64-hex",
        )
    domain, remainder = _split_docker_domain(text)
    # Like upstream, look for uppercase before the first ":" of the remainder,
    # which is the repository path unless a digest comes without a tag.
    remote = remainder.partition(":")[0]
    if remote.lower() != remote:
        raise _invalid(
            f"invalid reference format: repository name {_shorten(remote)!r} in "
            f"{_shorten(text)!r} must be lowercase; uppercase is only allowed in the "
            "registry host and the tag",
            reference=text,
            reason="uppercase",
        )
    parts = _split(f"{domain}/{remainder}", original=text)
    if not parts.domain:
        # Upstream accepts e.g. "foo_bar.com/app" with an empty domain, because
        # "foo_bar.com" is no host name but is a valid path component. Such a
        # reference names no registry to pull from, so it is rejected here.
        raise _invalid(
            f"invalid reference format: {_shorten(domain)!r} in {_shorten(text)!r} is taken as a "
            "registry host (it contains '.' or ':') but is not a valid host name; "
            "host names use letters, digits, '-' and '.'",
            reference=text,
            reason="format",
        )
    return Reference(parts.domain, parts.path, tag=parts.tag, digest=parts.digest)


def _split_docker_domain(text: str) -> tuple[str, str]:
    """Upstream ``splitDockerDomain``: registry and the rest, Docker's way."""
    maybe_domain, slash, maybe_remote = text.partition("/")
    if not slash:
        # A single component ("ubuntu", "ubuntu:22.04", even "localhost:5000")
        # is always an official Docker Hub image.
        return DEFAULT_REGISTRY, _OFFICIAL_REPOSITORY_PREFIX + text
    if maybe_domain == "localhost":
        domain, remote = maybe_domain, maybe_remote
    elif maybe_domain == _LEGACY_DEFAULT_REGISTRY:
        domain, remote = DEFAULT_REGISTRY, maybe_remote
    elif "." in maybe_domain or ":" in maybe_domain:
        domain, remote = maybe_domain, maybe_remote
    elif maybe_domain.lower() != maybe_domain:
        # Namespaces are lowercase, so an uppercase first component must be a host.
        domain, remote = maybe_domain, maybe_remote
    else:
        domain, remote = DEFAULT_REGISTRY, text
    if domain == DEFAULT_REGISTRY and "/" not in remote:
        remote = _OFFICIAL_REPOSITORY_PREFIX + remote
    return domain, remote


def _split(text: str, *, original: str) -> ReferenceParts:
    """Upstream ``Parse`` of ``text``; errors name ``original``, what the user wrote."""
    if not text:
        raise _invalid(
            "repository name must have at least one component: the image reference "
            f"is empty; expected {_EXPECTED_FORM}",
            reference=original,
            reason="name-empty",
        )
    match = REFERENCE_RE.match(text)
    if match is None:
        lowered = text.lower()
        if lowered != text and REFERENCE_RE.match(lowered) is not None:
            raise _invalid(
                f"invalid reference format: repository name in {_shorten(original)!r} "
                "must be lowercase; uppercase is only allowed in the registry host and "
                "the tag",
                reference=original,
                reason="uppercase",
            )
        subject = f"{_shorten(original)!r}: " if original else ""
        raise _invalid(
            f"invalid reference format: {subject}{_explain_format(original)}; "
            f"expected {_EXPECTED_FORM}",
            reference=original,
            reason="format",
        )
    domain, path, tag, digest = match.group("domain", "path", "tag", "digest")
    if len(path) > REPOSITORY_PATH_MAX_LENGTH:
        raise _invalid(
            f"repository name {_shorten(path)!r} is too long: {len(path)} characters, "
            f"must not be more than {REPOSITORY_PATH_MAX_LENGTH}",
            reference=original,
            reason="name-too-long",
        )
    if digest is not None:
        _check_digest(digest, text=original)
    return ReferenceParts(domain or "", path, tag=tag, digest=digest)


def _check_digest(digest: str, *, text: str) -> None:
    """go-digest ``Digest.Validate`` with only sha256 available."""
    algorithm, colon, encoded = digest.partition(":")
    if not algorithm or not colon or not encoded:
        raise _invalid(
            f"invalid digest format {_shorten(digest)!r} in {_shorten(text)!r}: "
            "expected sha256:<64 lowercase hex characters>",
            reference=text,
            reason="digest-format",
        )
    if algorithm not in SUPPORTED_DIGEST_ALGORITHMS:
        if _GO_DIGEST_RE.match(digest) is None:
            raise _invalid(
                f"invalid digest format {_shorten(digest)!r} in {_shorten(text)!r}: the "
                "algorithm must be lowercase, e.g. sha256:<64 lowercase hex characters>",
                reference=text,
                reason="digest-format",
            )
        raise _invalid(
            f"unsupported digest algorithm {algorithm!r} in {_shorten(text)!r}: ballast "
            "verifies sha256 digests only; pin the image by its sha256 manifest digest",
            reference=text,
            reason="digest-unsupported",
        )
    expected = _HEX_LENGTH[algorithm]
    if len(encoded) != expected:
        raise _invalid(
            f"invalid digest length in {_shorten(text)!r}: a {algorithm} digest has "
            f"{expected} hex characters, this one has {len(encoded)}; copy the whole digest",
            reference=text,
            reason="digest-length",
        )
    if _SHA256_HEX_RE.match(encoded) is None:
        raise _invalid(
            f"invalid digest format {_shorten(digest)!r} in {_shorten(text)!r}: the "
            f"{algorithm} hex must be lowercase",
            reference=text,
            reason="digest-format",
        )


def _explain_format(text: str) -> str:
    """A best guess at the first thing wrong with a reference the grammar refuses."""
    if not text:
        return "the image reference is empty"
    if any(char.isspace() for char in text):
        return "it contains whitespace"
    if "://" in text:
        return "it is a URL; drop the scheme (such as 'https://')"
    name, at, digest = text.partition("@")
    if at and DIGEST_RE.match(digest) is None:
        return f"the digest {_shorten(digest)!r} is not algorithm:hex"
    last_colon = name.rfind(":")
    if last_colon > name.rfind("/") and not name.endswith("]"):
        tag = name[last_colon + 1 :]
        if TAG_RE.match(tag) is None:
            return (
                f"the tag {_shorten(tag)!r} is invalid (1 to 128 letters, digits, '_', "
                "'.' or '-', not starting with '.' or '-')"
            )
        name = name[:last_colon]
    if not name:
        return "the repository name is missing"
    host, slash, _ = name.partition("/")
    if not slash and host.startswith("["):
        return f"{_shorten(host)!r} is a registry host with no repository after it"
    looks_like_host = "." in host or ":" in host or host.startswith("[")
    if slash and looks_like_host and DOMAIN_RE.match(host) is None:
        return (
            f"the registry host {_shorten(host)!r} is invalid (letters, digits, '-' and "
            "'.', or an IPv6 address in brackets, then an optional ':port')"
        )
    if "//" in name or name.endswith("/"):
        return "the repository path has an empty component"
    return (
        f"the repository name {_shorten(name)!r} is invalid (lowercase letters and "
        "digits, separated by '.', '_', '__', '-' or '/', starting and ending with a "
        "letter or digit)"
    )


def _shorten(text: str) -> str:
    """Cap user input quoted in messages: a reference can be arbitrarily long."""
    if len(text) <= _MESSAGE_TEXT_MAX_CHARS:
        return text
    return text[: _MESSAGE_TEXT_MAX_CHARS - 3] + "..."


def _invalid(message: str, *, reference: str, reason: InvalidReason) -> InvalidReference:
    error = InvalidReference(message, reference=reference)
    # InvalidReference's constructor is fixed in _errors.py; the reason code rides
    # along as an extra attribute.
    error.reason = reason  # type: ignore[attr-defined]
    return error
