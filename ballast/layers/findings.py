"""Deep findings: dead weight found in the final filesystem of an image.

Owns :func:`find_dead_weight`, which turns the stacked filesystem, the hidden
(shipped-but-deleted) files, the installed packages and the per-layer secret
hits and node projects into :class:`~ballast.layers.finding.Finding` objects.
Findings are about files *visible* in the final filesystem, grouped by rule
and by the layer that shipped them, so a compiler installed and purged in one
RUN leaves no file and no finding. Two exceptions, because deleting later does
not un-ship bytes: package caches deleted by a later layer are reported with
the layer that deleted them (clean in the same layer instead), and secrets are
reported wherever they were shipped, visible or not. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from ballast.layers.facts import LayerFacts
from ballast.layers.finding import SEVERITY_ORDER, Finding, Severity
from ballast.layers.package import PackageInfo
from ballast.layers.rules import RULES, Rule, classify, rule_by_id
from ballast.layers.secret import DESCRIPTIONS
from ballast.layers.tree import K_DIR, K_IMPLIED
from ballast.units import format_bytes

TOP_PATHS: Final = 5
"""Paths listed per finding."""
TOP_PACKAGES: Final = 5
"""Packages quoted per finding."""
_MiB: Final = 1024 * 1024

_PYTHON_BINARY: Final = re.compile(r"^usr/(?:local/)?bin/python3\.(\d+)$")
_PYC_TAG: Final = re.compile(r"\.(cpython-3\d+)(?:\.opt-\d)?\.pyc$")
_DEV_PACKAGE: Final = re.compile(r"(?:-dev|-devel|-headers)$")

Hidden = tuple[str, int, int, str, str, int]
"""(path, bytes, shipped by layer, path the operation named, reason, hidden by layer)."""
LayerLookup: TypeAlias = Callable[[int], tuple[str, str | None]]
"""Layer index → (layer digest, history instruction)."""


@dataclass(slots=True)
class _Group:
    """Bytes of one rule in one layer, with the roots that hold them."""

    bytes: int = 0
    roots: dict[str, int] = field(default_factory=dict)

    def add(self, root: str, size: int) -> None:
        self.bytes += size
        self.roots[root] = self.roots.get(root, 0) + size


def _top(roots: Mapping[str, int]) -> tuple[str, ...]:
    ordered = sorted(roots.items(), key=lambda item: (-item[1], item[0]))
    return tuple("/" + path for path, _ in ordered[:TOP_PATHS])


def _soften(severity: Severity, size: int) -> Severity:
    """Small byte counts are not worth a medium."""
    if severity == "medium" and size < _MiB:
        return "low"
    return severity


def _package_note(packages: Sequence[tuple[str, int]]) -> str:
    if not packages:
        return ""
    listed = ", ".join(f"{name}: {format_bytes(size)}" for name, size in packages)
    return f"; packages {listed}"


def find_dead_weight(
    *,
    visible: Iterable[tuple[str, int, int, int]],
    hidden: Iterable[Hidden],
    layers: Sequence[LayerFacts],
    created_by: Sequence[str | None],
    packages: Sequence[PackageInfo],
) -> tuple[Finding, ...]:
    """All deep findings, most severe and biggest first.

    ``visible`` yields (path, size, layer, kind code) of the final filesystem,
    ``hidden`` the files that some layer shipped and a later one hid.
    """
    groups: dict[tuple[str, int], _Group] = {}
    triggered: set[str] = set()
    pythons: set[str] = set()
    pyc: dict[tuple[str, int], _Group] = {}
    node_deps: dict[tuple[str, str], str] = {}
    for facts in layers:
        for project in facts.node_projects:
            prefix = f"{project.directory}/node_modules" if project.directory else "node_modules"
            for name in project.dev_only:
                node_deps[(prefix, name)] = f"{prefix}/{name}"
    node_groups: dict[int, _Group] = {}
    secret_paths = {hit.path for facts in layers for hit in facts.secrets}
    visible_secrets: dict[str, int] = {}

    for path, size, layer, code in visible:
        if code in (K_DIR, K_IMPLIED):
            continue
        if path in secret_paths:
            visible_secrets[path] = layer
        found = classify(path)
        if found is not None:
            rule, root = found
            key = (rule.id, layer)
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group()
            group.add(root, size)
            if rule.trigger is None or rule.trigger.search(path):
                triggered.add(rule.id)
        if path.endswith(".pyc") and "__pycache__/" in path:
            tag = _PYC_TAG.search(path)
            if tag is not None:
                key = (tag.group(1), layer)
                group = pyc.get(key)
                if group is None:
                    group = pyc[key] = _Group()
                group.add(path.rpartition("/")[0], size)
        elif path.startswith("usr/") and "bin/python3." in path:
            version = _PYTHON_BINARY.match(path)
            if version is not None:
                pythons.add(f"cpython-3{version.group(1)}")
        if node_deps and "node_modules/" in path:
            cut = path.find("node_modules/") + len("node_modules")
            rest = path[cut + 1 :].split("/", 2)
            name = "/".join(rest[:2]) if rest[0].startswith("@") else rest[0]
            target = node_deps.get((path[:cut], name))
            if target is not None:
                group = node_groups.get(layer)
                if group is None:
                    group = node_groups[layer] = _Group()
                group.add(target, size)

    findings: list[Finding] = []

    def layer_facts(layer: int) -> tuple[str, str | None]:
        digest = layers[layer].digest if 0 <= layer < len(layers) else ""
        command = created_by[layer] if 0 <= layer < len(created_by) else None
        return digest, command

    by_layer: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for package in packages:
        for rule in RULES:
            if rule.packages is not None and rule.packages.search(package.name):
                by_layer.setdefault((rule.id, package.layer), []).append(
                    (package.name, package.installed_bytes)
                )
                break

    rule_totals: dict[str, int] = {}
    for (rule_id, _), group in groups.items():
        rule_totals[rule_id] = rule_totals.get(rule_id, 0) + group.bytes

    dev_packages = [
        p for p in packages if _DEV_PACKAGE.search(p.name) and not _quoted_elsewhere(p.name)
    ]
    for (rule_id, layer), group in sorted(groups.items()):
        rule = rule_by_id(rule_id)
        if rule.id not in triggered or rule_totals[rule.id] < rule.min_bytes:
            continue
        if rule.id == "headers" and dev_packages:
            continue  # the dev-packages finding covers the same bytes, with names
        quoted = sorted(by_layer.get((rule.id, layer), ()), key=lambda p: (-p[1], p[0]))
        quoted = quoted[:TOP_PACKAGES]
        digest, command = layer_facts(layer)
        findings.append(
            Finding(
                category=rule.category,
                rule=rule.id,
                severity=_soften(rule.severity, group.bytes),
                bytes=group.bytes,
                paths=_top(group.roots),
                layer=layer,
                layer_digest=digest,
                created_by=command,
                advice=rule.advice.format(saving=format_bytes(group.bytes)) + _package_note(quoted),
                packages=tuple(quoted),
            )
        )

    findings.extend(_dev_package_findings(dev_packages, layer_facts))
    findings.extend(_pycache_findings(pyc, pythons, layer_facts))
    for layer, group in sorted(node_groups.items()):
        digest, command = layer_facts(layer)
        findings.append(
            Finding(
                category="dev-leftovers",
                rule="node-dev-dependencies",
                severity=_soften("medium", group.bytes),
                bytes=group.bytes,
                paths=_top(group.roots),
                layer=layer,
                layer_digest=digest,
                created_by=command,
                advice="install with `npm ci --omit=dev` (or `yarn install --production`) "
                f"in the runtime stage (saves {format_bytes(group.bytes)})",
            )
        )
    hidden_list = list(hidden)
    findings.extend(_hidden_cache_findings(hidden_list, layer_facts))
    findings.extend(_secret_findings(layers, visible_secrets, hidden_list, layer_facts))
    findings.sort(
        key=lambda f: (SEVERITY_ORDER[f.severity], -f.bytes, f.category, f.rule, f.layer, f.paths)
    )
    return tuple(findings)


def _quoted_elsewhere(name: str) -> bool:
    return any(rule.packages is not None and rule.packages.search(name) for rule in RULES)


def _dev_package_findings(
    packages: Sequence[PackageInfo], layer_facts: LayerLookup
) -> list[Finding]:
    per_layer: dict[int, list[PackageInfo]] = {}
    for package in packages:
        per_layer.setdefault(package.layer, []).append(package)
    findings = []
    for layer, members in sorted(per_layer.items()):
        total = sum(p.installed_bytes for p in members)
        members.sort(key=lambda p: (-p.installed_bytes, p.name))
        quoted = tuple((p.name, p.installed_bytes) for p in members[:TOP_PACKAGES])
        digest, command = layer_facts(layer)
        findings.append(
            Finding(
                category="build-tools",
                rule="dev-packages",
                severity=_soften("medium", total),
                bytes=total,
                paths=(),
                layer=layer,
                layer_digest=digest,
                created_by=command,
                advice="install -dev packages only in a builder stage and copy the results "
                f"(saves {format_bytes(total)})" + _package_note(quoted),
                packages=quoted,
            )
        )
    return findings


def _pycache_findings(
    pyc: Mapping[tuple[str, int], _Group], pythons: set[str], layer_facts: LayerLookup
) -> list[Finding]:
    findings = []
    for (tag, layer), group in sorted(pyc.items()):
        if tag in pythons:
            continue
        digest, command = layer_facts(layer)
        wanted = ", ".join(sorted(pythons)) or "no Python interpreter"
        findings.append(
            Finding(
                category="dev-leftovers",
                rule="foreign-pycache",
                severity=_soften("medium", group.bytes),
                bytes=group.bytes,
                paths=_top(group.roots),
                layer=layer,
                layer_digest=digest,
                created_by=command,
                advice=f"bytecode built for {tag} but the image runs {wanted}: add "
                f"`__pycache__` to .dockerignore (saves {format_bytes(group.bytes)})",
            )
        )
    return findings


def _hidden_cache_findings(hidden: Sequence[Hidden], layer_facts: LayerLookup) -> list[Finding]:
    groups: dict[tuple[str, int, int], _Group] = {}
    for path, size, shipped, _root, _reason, removed_by in hidden:
        found = classify(path)
        if found is None or found[0].category != "package-cache":
            continue
        cache_rule, root = found
        key = (cache_rule.id, shipped, removed_by)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group()
        group.add(root, size)
    findings = []
    for (rule_id, shipped, removed_by), group in sorted(groups.items()):
        rule: Rule = rule_by_id(rule_id)
        digest, command = layer_facts(shipped)
        findings.append(
            Finding(
                category="package-cache",
                rule=rule.id,
                severity=_soften(rule.severity, group.bytes),
                bytes=group.bytes,
                paths=_top(group.roots),
                layer=shipped,
                layer_digest=digest,
                created_by=command,
                advice=f"{rule.title} shipped in layer {shipped} and deleted in layer "
                f"{removed_by} are still pulled: clean in the same RUN that creates them "
                f"(saves {format_bytes(group.bytes)})",
                removed_by_layer=removed_by,
            )
        )
    return findings


def _secret_findings(
    layers: Sequence[LayerFacts],
    visible: Mapping[str, int],
    hidden: Sequence[Hidden],
    layer_facts: LayerLookup,
) -> list[Finding]:
    wanted = {(hit.path, index) for index, facts in enumerate(layers) for hit in facts.secrets}
    if not wanted:
        return []
    hidden_by: dict[tuple[str, int], int] = {}
    for path, _size, shipped, _root, _reason, hider in hidden:
        if (path, shipped) in wanted:
            hidden_by.setdefault((path, shipped), hider)
    findings = []
    for index, facts in enumerate(layers):
        for hit in facts.secrets:
            digest, command = layer_facts(index)
            what = DESCRIPTIONS.get(hit.kind, hit.kind)
            removed_by: int | None = None
            if visible.get(hit.path) == index:
                advice = (
                    f"{what} in the image: remove it, rotate the credential, and pass secrets "
                    "with `RUN --mount=type=secret` at build time or a Kubernetes Secret at run "
                    "time"
                )
            else:
                removed_by = hidden_by.get((hit.path, index))
                later = f"layer {removed_by}" if removed_by is not None else "a later layer"
                advice = (
                    f"{what} deleted by {later} is still readable in layer {index}: rotate "
                    "the credential and use `RUN --mount=type=secret` instead of COPY"
                )
            findings.append(
                Finding(
                    category="secrets",
                    rule=hit.kind,
                    severity="high",
                    bytes=hit.size,
                    paths=("/" + hit.path,),
                    layer=index,
                    layer_digest=digest,
                    created_by=command,
                    advice=advice,
                    removed_by_layer=removed_by,
                )
            )
    return findings
