"""Image references: distribution/reference's own test tables, then ballast's additions.

The peer table (/work/shared/fixtures/peers/reference-cases.json, 351 rows from
the Go tests of github.com/distribution/reference) drives most of this file.
Each row is checked as far as ballast's API can express it. The few rows it
cannot express are listed in NOT_EXPRESSIBLE with the reason, and the test
checks what ballast does for them instead.
"""

from __future__ import annotations

import ast
import collections
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import ballast.reference
from ballast._errors import InvalidReference
from ballast.reference import (
    DOMAIN_RE,
    IDENTIFIER_RE,
    NAME_RE,
    REFERENCE_RE,
    REPOSITORY_PATH_MAX_LENGTH,
    TAG_RE,
    InvalidReason,
    Reference,
    is_digest,
    parse_reference,
    parse_strict,
)

PEERS_DIR = Path(os.environ.get("BALLAST_PEER_FIXTURES", "/work/shared/fixtures/peers"))
# Loaded at import: a missing table must be a collection error, not zero tests.
PEER_TABLE: dict[str, Any] = json.loads((PEERS_DIR / "reference-cases.json").read_text())
CASES: list[dict[str, Any]] = PEER_TABLE["cases"]

SHA256 = "sha256:" + "e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582"

# Upstream error sentinels (names as in the table's field_semantics) → our reason codes.
SENTINEL_TO_REASON: dict[str, InvalidReason] = {
    "ErrReferenceInvalidFormat": "format",
    "ErrNameContainsUppercase": "uppercase",
    "ErrRemoteNameUppercase": "uppercase",
    "ErrNameEmpty": "name-empty",
    "ErrNameTooLong": "name-too-long",
    "ErrTagInvalidFormat": "tag-format",
    "ErrDigestInvalidFormat": "digest-format",
    "ErrDigestInvalidLength": "digest-length",
    "ErrDigestUnsupported": "digest-unsupported",
    "ErrIdentifier64Hex": "identifier-64-hex",
}

# The phrase a user finds in the message for each reason.
REASON_PHRASE: dict[InvalidReason, str] = {
    "format": "invalid reference format",
    "uppercase": "uppercase",
    "name-empty": "empty",
    "name-too-long": "too long",
    "tag-format": "invalid tag format",
    "digest-format": "invalid digest format",
    "digest-length": "invalid digest length",
    "digest-unsupported": "unsupported digest algorithm",
    "identifier-64-hex": "use a repository name or @sha256:",
}

_MATCH_REASON = (
    "FamiliarMatch (glob patterns over familiar names) is not part of ballast.reference; "
    "only the reference side is checked: it parses"
)
_SHORT_DIGEST_REASON = (
    "the row composes a sha256 digest of 37 hex characters, which upstream WithDigest "
    "accepts by shape only; with_digest validates it like parse does (go-digest also "
    "rejects it), so we check that it raises digest-length instead"
)
NOT_EXPRESSIBLE: dict[int, str] = {
    **{case_id: _SHORT_DIGEST_REASON for case_id in (78, 79, 80, 81, 82)},
    **{case_id: _MATCH_REASON for case_id in range(233, 242)},
}


# --- helpers -----------------------------------------------------------------


def expect_invalid(
    parse: Callable[[str], object],
    text: str,
    reason: InvalidReason,
    *,
    reference: str | None = None,
) -> InvalidReference:
    with pytest.raises(InvalidReference) as info:
        parse(text)
    error = info.value
    assert getattr(error, "reason", None) == reason, str(error)
    assert error.reference == (text if reference is None else reference)
    assert REASON_PHRASE[reason] in str(error)
    return error


def upstream_string(ref: Reference) -> str:
    """Upstream ``String()``: like str(ref), but without the default tag."""
    text = ref.name
    if ref.tag is not None:
        text += f":{ref.tag}"
    if ref.digest is not None:
        text += f"@{ref.digest}"
    return text


def docker_ref(ref: Reference) -> str:
    """Upstream ``ParseDockerRef``: default tag added, tag dropped next to a digest."""
    return f"{ref.name}@{ref.digest}" if ref.digest is not None else str(ref)


def familiar_name(ref: Reference) -> str:
    return Reference(ref.registry, ref.repository).familiar


def with_name(text: str) -> tuple[str, str]:
    """Upstream ``WithName``, from the module's name regex and length limit."""
    match = NAME_RE.match(text)
    if match is None:
        raise AssertionError("format")
    if len(match["path"]) > REPOSITORY_PATH_MAX_LENGTH:
        raise AssertionError("name-too-long")
    return match["domain"] or "", match["path"]


def check_strict(text: str, expected: dict[str, Any]) -> None:
    if not expected["valid"]:
        expect_invalid(parse_strict, text, SENTINEL_TO_REASON[expected["error"]])
        return
    parts = parse_strict(text)
    actual = {
        "domain": parts.domain,
        "path": parts.path,
        "name": parts.name,
        "tag": parts.tag,
        "digest": parts.digest,
        "string": str(parts),
    }
    assert set(expected) - {"valid"} <= set(actual)
    assert {key: actual[key] for key in expected if key != "valid"} == {
        key: value for key, value in expected.items() if key != "valid"
    }


def check_normalized(text: str, expected: dict[str, Any]) -> Reference | None:
    """Check parse_reference against a ParseNormalizedNamed expectation."""
    if not expected["valid"]:
        reason = SENTINEL_TO_REASON[expected["error"]]
        error = expect_invalid(parse_reference, text, reason)
        upstream_message = expected.get("error_message", "")
        if reason == "uppercase" and "(" in upstream_message:
            # Upstream names the offending repository path; so do we.
            offending = upstream_message.split("(", 1)[1].split(")", 1)[0]
            assert repr(offending) in str(error)
        return None
    ref = parse_reference(text)
    actual = {
        "domain": ref.registry,
        "path": ref.repository,
        "full_name": ref.name,
        "tag": ref.tag,
        "digest": ref.digest,
        "full_string": upstream_string(ref),
        "familiar_name": familiar_name(ref),
        "familiar_string": ref.familiar,
        "docker_ref_with_default_tag": docker_ref(ref),
    }
    assert set(expected) - {"valid"} <= set(actual), "a field this test does not check"
    assert {key: actual[key] for key in expected if key != "valid"} == {
        key: value for key, value in expected.items() if key != "valid"
    }
    if "full_string" in expected:
        implicit_tag = ref.tag is None and ref.digest is None
        assert str(ref) == expected["full_string"] + (":latest" if implicit_tag else "")
    if "docker_ref_with_default_tag" in expected and (ref.tag is None or ref.digest is None):
        assert str(ref) == expected["docker_ref_with_default_tag"]
    # Every valid peer reference also survives both of our round trips.
    assert_familiar_parses_back(ref)
    assert str(parse_reference(str(ref))) == str(ref)
    return ref


def assert_familiar_parses_back(ref: Reference) -> None:
    if IDENTIFIER_RE.match(ref.familiar):
        # Upstream quirk: "docker.io/<64 hex>" is a valid name, but its familiar
        # form is a bare image ID, which ParseNormalizedNamed refuses.
        expect_invalid(parse_reference, ref.familiar, "identifier-64-hex")
    else:
        assert parse_reference(ref.familiar) == ref


# --- one handler per upstream function ------------------------------------------


def run_parse(case: dict[str, Any]) -> None:
    check_strict(case["input"], case["expected"])


def run_with_name(case: dict[str, Any]) -> None:
    text, expected = case["input"], case["expected"]
    if not expected["valid"]:
        with pytest.raises(AssertionError, match=SENTINEL_TO_REASON[expected["error"]]):
            with_name(text)
        return
    assert with_name(text) == (expected["domain"], expected["path"])
    parts = parse_strict(text)
    assert (parts.domain, parts.path, parts.tag, parts.digest) == (
        expected["domain"],
        expected["path"],
        None,
        None,
    )


def run_parse_named(case: dict[str, Any]) -> None:
    """ParseNamed: ParseNormalizedNamed, then the input must already be canonical."""
    text, expected = case["input"], case["expected"]
    ref = parse_reference(text)
    if expected["valid"]:
        assert upstream_string(ref) == text
        assert (ref.registry, ref.repository) == (expected["domain"], expected["path"])
    else:
        assert expected["error"] == "ErrNameNotCanonical"
        assert upstream_string(ref) != text


def run_compose_with_tag(case: dict[str, Any]) -> None:
    given_parts, expected = case["input"], case["expected"]
    ref = parse_reference(given_parts["name"])
    if given_parts["digest"] is not None:
        assert case["id"] in NOT_EXPRESSIBLE
        assert not is_digest(given_parts["digest"])
        expect_invalid(
            ref.with_digest,
            given_parts["digest"],
            "digest-length",
            reference=f"{ref.name}@{given_parts['digest']}",
        )
        return
    tagged = ref.with_tag(given_parts["tag"])
    # Upstream composes the name as written; ours is normalised, so compare
    # the familiar forms (which are the written forms for these rows).
    assert tagged.familiar == expected["string"]
    assert tagged.tag == given_parts["tag"]
    assert parse_reference(expected["string"]) == tagged


def run_compose_with_digest(case: dict[str, Any]) -> None:
    given_parts = case["input"]
    ref = parse_reference(given_parts["name"])
    if given_parts["tag"] is not None:
        ref = ref.with_tag(given_parts["tag"])
    assert case["id"] in NOT_EXPRESSIBLE
    assert not is_digest(given_parts["digest"])
    expect_invalid(
        ref.with_digest,
        given_parts["digest"],
        "digest-length",
        reference=f"{ref.name}@{given_parts['digest']}",
    )


def run_with_tag(case: dict[str, Any]) -> None:
    ref = parse_reference(case["input"]["name"])
    tag = case["input"]["tag"]
    reason = SENTINEL_TO_REASON[case["expected"]["error"]]
    expect_invalid(ref.with_tag, tag, reason, reference=f"{ref.name}:{tag}")


def run_with_digest(case: dict[str, Any]) -> None:
    ref = parse_reference(case["input"]["name"])
    digest = case["input"]["digest"]
    reason = SENTINEL_TO_REASON[case["expected"]["error"]]
    expect_invalid(ref.with_digest, digest, reason, reference=f"{ref.name}@{digest}")


def run_parse_normalized(case: dict[str, Any]) -> None:
    check_normalized(case["input"], case["expected"])


def run_parse_any(case: dict[str, Any]) -> None:
    text, expected = case["input"], case["expected"]
    if expected["digest_only_reference"]:
        # A bare digest or image ID: ballast has no digest-only reference type,
        # but it recognises both forms (what parse_reference does with them is
        # the row's derived_normalized expectation, checked below).
        assert is_digest(expected["string"])
        if IDENTIFIER_RE.match(text):
            assert expected["string"] == f"sha256:{text}"
        else:
            assert is_digest(text)
            assert expected["string"] == text
        return
    assert upstream_string(parse_reference(text)) == expected["string"]


def run_parse_docker_ref(case: dict[str, Any]) -> None:
    ref = parse_reference(case["input"])
    assert docker_ref(ref) == case["expected"]["string"]
    assert ref.reference == (ref.digest or ref.tag or "latest")


def run_match(case: dict[str, Any]) -> None:
    assert case["id"] in NOT_EXPRESSIBLE
    parse_reference(case["input"]["reference"])


def run_domain_regexp(case: dict[str, Any]) -> None:
    assert (DOMAIN_RE.match(case["input"]) is not None) == case["expected"]["match"]


def run_name_regexp(case: dict[str, Any]) -> None:
    match = NAME_RE.match(case["input"])
    assert (match is not None) == case["expected"]["match"]
    if match is not None and "subs" in case["expected"]:
        assert [match["domain"] or "", match["path"]] == case["expected"]["subs"]


def run_reference_regexp(case: dict[str, Any]) -> None:
    match = REFERENCE_RE.match(case["input"])
    assert (match is not None) == case["expected"]["match"]
    if match is not None:
        subs = [group or "" for group in match.group("name", "tag", "digest")]
        assert subs == case["expected"]["subs"]


def run_identifier_regexp(case: dict[str, Any]) -> None:
    assert (IDENTIFIER_RE.match(case["input"]) is not None) == case["expected"]["match"]


HANDLERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "Parse": run_parse,
    "Field JSON round trip (Parse)": run_parse,
    "WithName (name only, no tag/digest allowed)": run_with_name,
    "WithName": run_with_name,
    "ParseNamed (input must already be canonical/fully-qualified)": run_parse_named,
    "WithTag (compose)": run_compose_with_tag,
    "WithDigest (compose)": run_compose_with_digest,
    "WithTag": run_with_tag,
    "WithDigest": run_with_digest,
    "ParseNormalizedNamed": run_parse_normalized,
    "ParseNormalizedNamed + FamiliarName/String/Domain/Path": run_parse_normalized,
    "ParseAnyReference": run_parse_any,
    "ParseDockerRef (normalize + default tag latest; tag dropped when digest present)": (
        run_parse_docker_ref
    ),
    "FamiliarMatch(pattern, ParseAnyReference(reference))": run_match,
    "regexp: anchored domainAndPort": run_domain_regexp,
    "regexp: anchoredNameRegexp (groups: domain, path)": run_name_regexp,
    "regexp: ReferenceRegexp (groups: name, tag, digest)": run_reference_regexp,
    "regexp: anchoredIdentifierRegexp (64 lowercase hex)": run_identifier_regexp,
}


# --- the peer table ------------------------------------------------------------


def test_peer_table_is_complete() -> None:
    counts = collections.Counter(case["source_test"] for case in CASES)
    expected = {name: n for name, n in PEER_TABLE["counts"].items() if name != "total"}
    assert len(CASES) == PEER_TABLE["counts"]["total"] == 351
    assert dict(counts) == expected
    assert sorted(case["id"] for case in CASES) == list(range(1, 352))


def test_every_peer_function_has_a_handler() -> None:
    assert {case["function"] for case in CASES} == set(HANDLERS)


def test_not_expressible_rows_are_exactly_the_listed_kinds() -> None:
    by_id = {case["id"]: case for case in CASES}
    listed_functions = {by_id[case_id]["function"] for case_id in NOT_EXPRESSIBLE}
    assert listed_functions == {
        "WithTag (compose)",
        "WithDigest (compose)",
        "FamiliarMatch(pattern, ParseAnyReference(reference))",
    }
    match_rows = {c["id"] for c in CASES if c["function"].startswith("FamiliarMatch")}
    assert match_rows <= set(NOT_EXPRESSIBLE)


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{case['id']}-{case['source_test']}" for case in CASES]
)
def test_peer_case(case: dict[str, Any]) -> None:
    HANDLERS[case["function"]](case)
    normalized = case.get("derived_normalized")
    if normalized is not None:
        assert isinstance(case["input"], str)
        check_normalized(case["input"], normalized)


# --- the examples from the issue -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ubuntu", "docker.io/library/ubuntu:latest"),
        ("index.docker.io/library/nginx", "docker.io/library/nginx:latest"),
        ("localhost:5000/a/b:1", "localhost:5000/a/b:1"),
        (f"127.0.0.1:5000/x@{SHA256}", f"127.0.0.1:5000/x@{SHA256}"),
        ("[::1]:5000/x:y", "[::1]:5000/x:y"),
        (f"redis@{SHA256}", f"docker.io/library/redis@{SHA256}"),
        (f"reg.example/repo:tag@{SHA256}", f"reg.example/repo:tag@{SHA256}"),
    ],
)
def test_str_is_the_fully_qualified_reference(text: str, expected: str) -> None:
    assert str(parse_reference(text)) == expected


def test_issue_examples_split_into_fields() -> None:
    assert parse_reference("ubuntu") == Reference("docker.io", "library/ubuntu")
    assert parse_reference("localhost:5000/a/b:1") == Reference("localhost:5000", "a/b", tag="1")
    digested = parse_reference(f"127.0.0.1:5000/x@{SHA256}")
    assert (digested.registry, digested.tag, digested.digest) == ("127.0.0.1:5000", None, SHA256)
    assert parse_reference("[::1]:5000/x:y") == Reference("[::1]:5000", "x", tag="y")


def test_uppercase_repository_error_mentions_uppercase() -> None:
    error = expect_invalid(parse_reference, "ghcr.io/Acme/API:1.0", "uppercase")
    assert "'Acme/API'" in str(error)
    assert "must be lowercase" in str(error)


# --- Reference behaviour -----------------------------------------------------------


def test_tag_stays_none_when_the_user_wrote_none() -> None:
    implicit, explicit = parse_reference("nginx"), parse_reference("nginx:latest")
    assert (implicit.tag, explicit.tag) == (None, "latest")
    assert str(implicit) == str(explicit)
    assert (implicit.familiar, explicit.familiar) == ("nginx", "nginx:latest")


@pytest.mark.parametrize(
    ("text", "manifest_reference"),
    [
        ("nginx", "latest"),
        ("nginx:1.25", "1.25"),
        (f"nginx@{SHA256}", SHA256),
        (f"nginx:1.25@{SHA256}", SHA256),
    ],
)
def test_manifest_reference_prefers_the_digest(text: str, manifest_reference: str) -> None:
    assert parse_reference(text).reference == manifest_reference


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("nginx", "registry-1.docker.io"),
        ("index.docker.io/library/nginx", "registry-1.docker.io"),
        ("docker.io/bitnami/redis", "registry-1.docker.io"),
        ("ghcr.io/acme/api", "ghcr.io"),
        ("localhost:5000/x", "localhost:5000"),
        ("[::1]:5000/x", "[::1]:5000"),
    ],
)
def test_api_registry_is_the_host_to_contact(text: str, host: str) -> None:
    assert parse_reference(text).api_registry == host


def test_name_is_registry_and_repository() -> None:
    assert parse_reference("ghcr.io/acme/api:1@" + SHA256).name == "ghcr.io/acme/api"


def test_with_digest_keeps_the_tag_and_with_tag_keeps_the_digest() -> None:
    tagged = parse_reference("ghcr.io/acme/api:1.0")
    pinned = tagged.with_digest(SHA256)
    assert pinned == Reference("ghcr.io", "acme/api", tag="1.0", digest=SHA256)
    assert str(pinned) == f"ghcr.io/acme/api:1.0@{SHA256}"
    retagged = pinned.with_tag("2.0")
    assert retagged == Reference("ghcr.io", "acme/api", tag="2.0", digest=SHA256)
    assert parse_reference("nginx").with_digest(SHA256).tag is None


@pytest.mark.parametrize(
    ("digest", "reason"),
    [
        ("foo", "digest-format"),
        ("sha256:", "digest-format"),
        ("sha256:abc", "digest-format"),
        ("sha256:" + "a" * 63, "digest-length"),
        ("sha256:" + "A" * 64, "digest-format"),
        ("sha512:" + "a" * 128, "digest-unsupported"),
    ],
)
def test_with_digest_refuses_digests_ballast_cannot_verify(
    digest: str, reason: InvalidReason
) -> None:
    ref = parse_reference("nginx")
    expect_invalid(ref.with_digest, digest, reason, reference=f"{ref.name}@{digest}")


@pytest.mark.parametrize("tag", ["", "-x", ".x", "a" * 129, "a/b", "a:b", "é"])
def test_with_tag_refuses_what_is_not_a_tag(tag: str) -> None:
    ref = parse_reference("nginx")
    expect_invalid(ref.with_tag, tag, "tag-format", reference=f"{ref.name}:{tag}")


def test_non_string_input_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        parse_reference(b"nginx")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_reference("nginx").with_tag(1)  # type: ignore[arg-type]


def test_parse_results_are_cached() -> None:
    assert parse_reference("quay.io/cached/image:1") is parse_reference("quay.io/cached/image:1")


# --- digests ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SHA256, True),
        (SHA256.upper(), False),
        ("sha256:" + "a" * 63, False),
        ("sha256:" + "a" * 65, False),
        ("sha512:" + "a" * 128, False),
        ("SHA256:" + "a" * 64, False),
        ("a" * 64, False),
        (SHA256 + "\n", False),
    ],
)
def test_is_digest_accepts_only_sha256_lowercase_hex(text: str, expected: bool) -> None:
    assert is_digest(text) is expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("nginx@sha512:" + "f" * 128, "digest-unsupported"),
        ("nginx@md5:" + "f" * 32, "digest-unsupported"),
        ("nginx@sha256:" + "f" * 40, "digest-length"),
        ("nginx@sha256:" + "F" * 64, "digest-format"),
        ("nginx:1@SHA256:" + "f" * 64, "digest-format"),
        ("nginx@sha256:" + "f" * 31, "format"),
    ],
)
def test_digest_errors_say_what_is_wrong(text: str, reason: InvalidReason) -> None:
    expect_invalid(parse_reference, text, reason)


def test_unsupported_algorithm_is_named_in_the_message() -> None:
    error = expect_invalid(parse_reference, "nginx@sha512:" + "f" * 128, "digest-unsupported")
    assert "'sha512'" in str(error)


def test_short_digest_message_gives_both_lengths() -> None:
    error = expect_invalid(parse_reference, "nginx@sha256:" + "f" * 40, "digest-length")
    assert "64" in str(error) and "40" in str(error)


# --- error messages -----------------------------------------------------------------


def test_image_id_is_refused_with_a_hint() -> None:
    image_id = "a" * 64
    error = expect_invalid(parse_reference, image_id, "identifier-64-hex")
    assert f"@sha256:{image_id}" in str(error)


def test_too_long_path_counts_only_the_repository_path() -> None:
    path = "a" * 255
    assert parse_reference(f"registry.example.com:5000/{path}").repository == path
    error = expect_invalid(parse_reference, f"registry.example.com/{path}a", "name-too-long")
    assert "256 characters" in str(error)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "the image reference is empty"),
        ("nginx ", "whitespace"),
        ("nginx\n", "whitespace"),
        ("https://ghcr.io/acme/api", "drop the scheme"),
        ("nginx:" + "a" * 129, "the tag"),
        ("nginx:-1", "the tag"),
        ("nginx@foo", "the digest 'foo'"),
        (":1.0", "repository name is missing"),
        ("[2001:db8::1]:5000", "no repository after it"),
        ("fc00::1:5000/debian", "registry host 'fc00::1:5000'"),
        ("docker///docker", "empty component"),
        ("-docker", "the repository name '-docker'"),
    ],
)
def test_format_errors_point_at_the_problem(text: str, hint: str) -> None:
    error = expect_invalid(parse_reference, text, "format")
    assert hint in str(error)
    assert "expected [registry[:port]/]repository[:tag]" in str(error)


def test_messages_stay_short_for_huge_input() -> None:
    error = expect_invalid(parse_reference, "x" * 100_000 + "!", "format")
    assert len(str(error)) < 1000
    assert error.reference == "x" * 100_000 + "!"


def test_strict_parse_reports_an_empty_name() -> None:
    expect_invalid(parse_strict, "", "name-empty")


def test_kubernetes_placeholder_image_value_is_refused_as_uppercase() -> None:
    # k8s.io/api testdata uses "imageValue" for every image (peers README).
    expect_invalid(parse_reference, "imageValue", "uppercase")


def test_host_with_underscore_is_refused_rather_than_left_without_a_registry() -> None:
    # Upstream returns an empty domain here ("foo_bar.com" is a valid path
    # component but no host name); ballast needs a registry, so it refuses.
    error = expect_invalid(parse_reference, "foo_bar.com/app:1", "format")
    assert "'foo_bar.com'" in str(error)
    assert parse_strict("foo_bar.com/app:1").domain == ""


@pytest.mark.parametrize("text", ["nginx:١", "nginx:é", "ubuntu\u0660", "nginx\n", "nginx:1\n"])
def test_non_ascii_and_trailing_newline_are_refused(text: str) -> None:
    # Python's \w is Unicode and $ matches before a final newline; Go's are not.
    with pytest.raises(InvalidReference):
        parse_reference(text)


def test_tag_regex_is_ascii_only() -> None:
    assert TAG_RE.match("v1.0_rc-1") and not TAG_RE.match("١")


def test_module_imports_nothing_from_ballast_but_errors() -> None:
    source = Path(ballast.reference.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert {name for name in imported if name.split(".")[0] == "ballast"} == {"ballast._errors"}


# --- properties -------------------------------------------------------------------------

digests = st.binary(min_size=32, max_size=32).map(lambda raw: f"sha256:{raw.hex()}")
path_components = st.from_regex(r"\A[a-z0-9]{1,8}(?:(?:[._]|__|-{1,3})[a-z0-9]{1,8}){0,2}\Z")
host_labels = st.from_regex(r"\A[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?\Z")
ipv6_literals = st.ip_addresses(v=6).map(str).filter(lambda a: "." not in a).map(lambda a: f"[{a}]")
hosts = st.one_of(
    st.just("localhost"),
    st.lists(host_labels, min_size=2, max_size=4).map(".".join),
    st.ip_addresses(v=4).map(str),
    ipv6_literals,
)
registries = st.tuples(hosts, st.none() | st.integers(0, 65535)).map(
    lambda parts: parts[0] if parts[1] is None else f"{parts[0]}:{parts[1]}"
)


@st.composite
def reference_texts(draw: st.DrawFn) -> str:
    text = "/".join(draw(st.lists(path_components, min_size=1, max_size=4)))
    registry = draw(st.none() | registries)
    if registry is not None:
        text = f"{registry}/{text}"
    if draw(st.booleans()):
        text += ":" + draw(st.from_regex(TAG_RE))
    if draw(st.booleans()):
        text += "@" + draw(digests)
    return text


def _parse_or_reject(text: str) -> Reference:
    try:
        return parse_reference(text)
    except InvalidReference as error:
        # The only generated texts normalisation may refuse: a first component
        # such as "a_b.c" that is taken for a host but is none (see above).
        assert getattr(error, "reason", None) == "format"
        assert "is taken as a registry host" in str(error)
        assume(False)
        raise


@given(reference_texts())
def test_reference_survives_parse_str_parse(text: str) -> None:
    ref = _parse_or_reject(text)
    again = parse_reference(str(ref))
    assert str(again) == str(ref)
    assert again == Reference(
        ref.registry,
        ref.repository,
        tag=ref.tag if ref.tag is not None or ref.digest is not None else "latest",
        digest=ref.digest,
    )
    assert parse_reference(str(again)) == again
    assert again.reference == ref.reference


@given(reference_texts())
def test_familiar_form_parses_back_to_the_same_reference(text: str) -> None:
    assert_familiar_parses_back(_parse_or_reject(text))


@given(st.text())
def test_any_text_either_parses_or_raises_invalid_reference(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidReference as error:
        assert getattr(error, "reason", None) in set(REASON_PHRASE)
        return
    assert parse_reference(str(ref)).name == ref.name
