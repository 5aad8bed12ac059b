"""Whether a policy, or one rule, applies to an image asked for by a workload.

Owns glob matching (``*`` within one path component, ``**`` across them,
``?`` one character), Docker-style normalisation of image patterns
(``nginx`` means ``docker.io/library/nginx``), Kubernetes label selectors,
and the scope checks themselves, which return the reason an image is *not*
judged (``None`` when it is) so that reports can say why. Imports the policy
document, the context and :mod:`ballast.reference`. Pure.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

from ballast._errors import InvalidReference
from ballast.policy.context import Context
from ballast.policy.document import (
    LabelOperator,
    LabelSelector,
    Patterns,
    Scope,
    Selection,
)
from ballast.reference import parse_reference

_GLOB_CHARS = frozenset("*?")


@functools.lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Translate a glob: ``**`` matches anything, ``*`` anything but ``/``, ``?`` one non-``/``."""
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            parts.append(".*")
            index += 2
            continue
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        else:
            parts.append(re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


def glob_matches(pattern: str, text: str) -> bool:
    """True when the whole of ``text`` matches ``pattern``."""
    return compile_glob(pattern).fullmatch(text) is not None


def normalize_image_pattern(pattern: str) -> str:
    """Read an image pattern as Docker reads a reference: ``nginx`` → ``docker.io/library/nginx``.

    A first component is a registry when it has a ``.`` or ``:``, is
    ``localhost``, or holds a glob character (``*/team/*`` stays as written).
    """
    if pattern in ("*", "**", ""):
        return "**" if pattern else pattern
    first, slash, _ = pattern.partition("/")
    if not slash:
        return pattern if pattern[0] in _GLOB_CHARS else f"docker.io/library/{pattern}"
    if _GLOB_CHARS & set(first) or "." in first or ":" in first or first == "localhost":
        return pattern
    return f"docker.io/{pattern}"


def image_candidates(image: str) -> tuple[str, ...]:
    """The forms of a reference patterns are matched against.

    The fully qualified reference (with ``:latest`` when no tag or digest was
    given), the name alone (so a pattern without a tag matches every tag), and
    ``name:tag`` / ``name@digest`` when both are present. A reference that
    does not parse is matched as written.
    """
    try:
        reference = parse_reference(image)
    except (InvalidReference, TypeError, ValueError):
        return (image,)
    forms = [str(reference), reference.name]
    if reference.tag is not None and reference.digest is not None:
        forms += [f"{reference.name}:{reference.tag}", f"{reference.name}@{reference.digest}"]
    return tuple(forms)


def _first_match(
    patterns: Iterable[str], candidates: tuple[str, ...], *, image: bool
) -> str | None:
    for pattern in patterns:
        wanted = normalize_image_pattern(pattern) if image else pattern
        if any(glob_matches(wanted, text) for text in candidates):
            return pattern
    return None


def image_matches(patterns: Iterable[str], image: str) -> str | None:
    """The first image pattern that matches ``image``, or ``None``."""
    return _first_match(patterns, image_candidates(image), image=True)


def _patterns_exclude(
    patterns: Patterns, candidates: tuple[str, ...], *, what: str, field: str, image: bool
) -> str | None:
    """Why ``patterns`` do not select the thing, or ``None`` when they do."""
    if patterns.include and _first_match(patterns.include, candidates, image=image) is None:
        return f"{what} matches no {field}.include pattern"
    excluded = _first_match(patterns.exclude, candidates, image=image)
    if excluded is not None:
        return f"{what} matches {field}.exclude {excluded!r}"
    return None


def selector_matches(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """Kubernetes label selector semantics (an empty selector selects everything)."""
    for key, wanted in selector.match_labels:
        if labels.get(key) != wanted:
            return False
    for requirement in selector.match_expressions:
        present = requirement.key in labels
        value = labels.get(requirement.key)
        if requirement.operator is LabelOperator.IN:
            if not present or value not in requirement.values:
                return False
        elif requirement.operator is LabelOperator.NOT_IN:
            if present and value in requirement.values:
                return False
        elif requirement.operator is LabelOperator.EXISTS:
            if not present:
                return False
        elif present:  # DoesNotExist
            return False
    return True


def exemption(scope: Scope, context: Context) -> str | None:
    """Why the workload's namespace is exempt from the whole policy, or ``None``."""
    namespace = context.namespace
    if namespace is None:
        return None
    if namespace == scope.webhook_namespace:
        return f"namespace {namespace} is ballast's own (spec.scope.webhookNamespace)"
    for pattern in scope.exempt_namespaces:
        if glob_matches(pattern, namespace):
            return f"namespace {namespace} is exempt (spec.scope.exemptNamespaces {pattern!r})"
    return None


def selection_excludes(
    selection: Selection, *, image: str, context: Context, field: str = "spec.scope"
) -> str | None:
    """Why ``selection`` does not select this image for this workload, or ``None`` when it does.

    Namespace and pod conditions apply only in a cluster (``context.namespace``
    is set); outside one, ``ballast check`` judges every image the image
    patterns select.
    """
    if context.namespace is not None:
        reason = _patterns_exclude(
            selection.namespaces,
            (context.namespace,),
            what=f"namespace {context.namespace}",
            field=f"{field}.namespaces",
            image=False,
        )
        if reason is not None:
            return reason
        if selection.namespace_selector is not None and not selector_matches(
            selection.namespace_selector, context.namespace_labels
        ):
            return f"namespace {context.namespace} labels do not match {field}.namespaces.selector"
        if selection.pod_selector is not None and not selector_matches(
            selection.pod_selector, context.pod_labels
        ):
            return f"pod labels do not match {field}.podSelector"
    return _patterns_exclude(
        selection.images,
        image_candidates(image),
        what=f"image {image}",
        field=f"{field}.images",
        image=True,
    )


def scope_excludes(scope: Scope, *, image: str, context: Context) -> str | None:
    """Why the policy does not judge this image for this workload, or ``None`` when it does."""
    return exemption(scope, context) or selection_excludes(
        scope.selection, image=image, context=context
    )
