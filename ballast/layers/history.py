"""History findings: what the config's ``created_by`` lines say, without any layer read.

Owns :func:`history_findings`. These rules are cheap (the config is a few KB),
so they run at admission and in plain ``ballast inspect`` too. Each looks at
one RUN/COPY instruction, and a fix in the *same* instruction silences it:
``apt-get install`` followed by ``rm -rf /var/lib/apt/lists/*``, a compiler
installed and purged, ``apk add --virtual .build-deps`` then ``apk del``, a
BuildKit cache mount. Each finding carries that layer's size (the most the fix
can save) and the category it points to. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from ballast.layers.finding import SEVERITY_ORDER, Category, Finding, Severity
from ballast.units import format_bytes

HistoryItem = tuple[str, int, int]
"""(created_by, layer size in bytes, layer index)."""

_PREFIX: Final = re.compile(r"^(?:/bin/(?:ba)?sh -c\s+)?(?:#\(nop\)\s*)?")
_RUN_ARGS: Final = re.compile(r"^RUN\s+(?:\|\d+(?:\s+\S+=\S*)*\s+)?")
_CACHE_MOUNT: Final = re.compile(r"--mount=[^\s]*type=cache")

_APT_INSTALL: Final = re.compile(r"\bapt(?:-get)?\s+(?:[-\w=]+\s+)*install\b")
_APT_UPDATE: Final = re.compile(r"\bapt(?:-get)?\s+(?:[-\w=]+\s+)*update\b")
_APT_LISTS_CLEANED: Final = re.compile(r"rm\s+-[a-zA-Z]*r[a-zA-Z]*\s+[^;&|]*/var/lib/apt/lists")
_APK_ADD: Final = re.compile(r"\bapk\s+(?:-\S+\s+)*add\b")
_APK_NO_CACHE: Final = re.compile(r"--no-cache\b|rm\s+-[a-zA-Z]*r[a-zA-Z]*\s+[^;&|]*/var/cache/apk")
_YUM_INSTALL: Final = re.compile(r"\b(?:yum|dnf|microdnf)\s+(?:-\S+\s+)*install\b")
_YUM_CLEAN: Final = re.compile(
    r"\b(?:yum|dnf|microdnf)\s+(?:-\S+\s+)*clean\s+all\b|rm\s+-[a-zA-Z]*r[a-zA-Z]*\s+[^;&|]*/var/cache/(?:yum|dnf)"
)
_PIP_INSTALL: Final = re.compile(
    r"\bpip[\d.]*\s+(?:-\S+\s+)*install\b|\bpython[\d.]*\s+-m\s+pip\s+install\b"
)
_PIP_NO_CACHE: Final = re.compile(
    r"--no-cache-dir\b|PIP_NO_CACHE_DIR=(?:1|true|on|yes)|rm\s+-[a-zA-Z]*r[a-zA-Z]*\s+[^;&|]*\.cache/pip"
    r"|pip[\d.]*\s+cache\s+purge"
)
_NPM_INSTALL: Final = re.compile(
    r"\bnpm\s+(?:-\S+\s+)*(?:install|i|ci)\b(?!\s+-g\b)(?!\s+--global\b)"
)
_NPM_PROD: Final = re.compile(
    r"--omit[= ]dev\b|--only[= ]prod(?:uction)?\b|--production\b|NODE_ENV=production|--prod\b"
)
_YARN_INSTALL: Final = re.compile(r"\byarn(?:\s+install)?(?:\s+-{1,2}\S+)*\s*(?:&&|;|$)")
_YARN_PROD: Final = re.compile(
    r"--production\b|NODE_ENV=production|workspaces\s+focus\s+--production"
)
_COPY_CONTEXT: Final = re.compile(r"^(?:COPY|ADD)\s+(?:--\S+\s+)*\.\s+\S+")
_DEPENDENCY_INSTALL: Final = re.compile(
    r"\bnpm\s+(?:install|i|ci)\b|\byarn\b|\bpnpm\s+install\b|\bpip[\d.]*\s+install\b|\bpoetry\s+install\b"
    r"|\bbundle\s+install\b|\bgo\s+mod\s+download\b|\bmvn\b|\bgradle\b|\bcomposer\s+install\b"
    r"|\bcargo\s+(?:build|fetch)\b|\buv\s+(?:sync|pip\s+install)\b"
)
_BUILD_PACKAGES: Final = re.compile(
    r"(?<![\w.-])(?:build-essential|build-base|gcc(?:-\d+)?|g\+\+(?:-\d+)?|clang(?:-\d+)?|make|cmake"
    r"|golang(?:-go|-\d[\d.]*)?|rustc|cargo|openjdk-\d+-jdk(?:-headless)?|[\w.+-]+-dev(?:el)?)(?![\w.+-])"
)
_INSTALL_ARGS: Final = re.compile(
    r"\b(?:apt(?:-get)?\s+(?:-\S+\s+)*install|apk\s+(?:-\S+\s+)*add|(?:yum|dnf|microdnf)\s+(?:-\S+\s+)*install)"
    r"((?:\s+(?!&&|;|\|)[^\s;&|]+)*)"
)
_REMOVE_ARGS: Final = re.compile(
    r"\b(?:apt(?:-get)?\s+(?:-\S+\s+)*(?:purge|remove|autoremove)|apk\s+(?:-\S+\s+)*del"
    r"|(?:yum|dnf)\s+(?:-\S+\s+)*(?:remove|erase|autoremove))((?:\s+(?!&&|;|\|)[^\s;&|]+)*)"
)
_VIRTUAL: Final = re.compile(r"(?:--virtual|-t)\s+(\S+)")


def normalize_instruction(created_by: str) -> str:
    """``/bin/sh -c #(nop) COPY …`` and ``RUN |2 A=b /bin/sh -c …`` → the instruction text."""
    text = created_by.strip()
    text = _PREFIX.sub("", text)
    text = re.sub(r"\s+# buildkit$", "", text)
    if text.startswith("RUN"):
        text = _RUN_ARGS.sub("", text)
        text = _PREFIX.sub("", text)
    return text


def _build_tools_left(command: str) -> list[str]:
    """Build packages installed by a command and not removed by the same command."""
    installed: list[str] = []
    for match in _INSTALL_ARGS.finditer(command):
        args = match.group(1).split()
        installed.extend(
            a for a in args if not a.startswith("-") and _BUILD_PACKAGES.fullmatch(a.split("=")[0])
        )
    if not installed:
        return []
    removed: set[str] = set()
    for match in _REMOVE_ARGS.finditer(command):
        removed.update(a.split("=")[0] for a in match.group(1).split() if not a.startswith("-"))
    virtual = {m.group(1) for m in _VIRTUAL.finditer(command)}
    if virtual & removed:
        return []  # apk add --virtual .build-deps … && apk del .build-deps
    if "autoremove" in command and re.search(r"\b(?:purge|remove)\b", command):
        removed.update(installed)
    return [name for name in dict.fromkeys(installed) if name.split("=")[0] not in removed]


def _finding(
    category: Category,
    rule: str,
    severity: Severity,
    item: HistoryItem,
    advice: str,
    digests: Sequence[str],
) -> Finding:
    created_by, size, index = item
    return Finding(
        category=category,
        rule=rule,
        severity="low" if severity == "medium" and size < 1024 * 1024 else severity,
        bytes=size,
        paths=(),
        layer=index,
        layer_digest=digests[index] if 0 <= index < len(digests) else "",
        created_by=created_by,
        advice=advice,
    )


def history_findings(
    items: Sequence[HistoryItem], *, layer_digests: Sequence[str] = ()
) -> tuple[Finding, ...]:
    """Findings from the instructions that made each layer, most severe and biggest first.

    ``items`` are (created_by, layer size, layer index) of the layers that have
    a history entry; ``bytes`` of each finding is that layer's size, the most
    the fix can save (the exact saving needs the layer contents).
    """
    findings: list[Finding] = []
    commands = [(normalize_instruction(c), c, s, i) for c, s, i in items]
    for position, (command, raw, size, index) in enumerate(commands):
        item = (raw, size, index)
        where = f"layer {index}, {format_bytes(size)}"
        cache_mount = bool(_CACHE_MOUNT.search(raw))
        if (
            (_APT_INSTALL.search(command) or _APT_UPDATE.search(command))
            and not _APT_LISTS_CLEANED.search(command)
            and not cache_mount
        ):
            findings.append(
                _finding(
                    "package-cache",
                    "history-apt-lists",
                    "medium",
                    item,
                    "apt-get without `rm -rf /var/lib/apt/lists/*` in the same RUN leaves the "
                    f"package lists in the layer ({where})",
                    layer_digests,
                )
            )
        if _APK_ADD.search(command) and not _APK_NO_CACHE.search(command) and not cache_mount:
            findings.append(
                _finding(
                    "package-cache",
                    "history-apk-cache",
                    "low",
                    item,
                    f"use `apk add --no-cache` ({where})",
                    layer_digests,
                )
            )
        if _YUM_INSTALL.search(command) and not _YUM_CLEAN.search(command) and not cache_mount:
            findings.append(
                _finding(
                    "package-cache",
                    "history-yum-cache",
                    "medium",
                    item,
                    f"run `yum clean all` / `dnf clean all` in the same RUN ({where})",
                    layer_digests,
                )
            )
        if _PIP_INSTALL.search(command) and not _PIP_NO_CACHE.search(command) and not cache_mount:
            findings.append(
                _finding(
                    "package-cache",
                    "history-pip-cache",
                    "medium",
                    item,
                    f"pip install without `--no-cache-dir` keeps the pip cache ({where})",
                    layer_digests,
                )
            )
        if (_NPM_INSTALL.search(command) and not _NPM_PROD.search(command)) or (
            command.startswith("yarn")
            and _YARN_INSTALL.search(command)
            and not _YARN_PROD.search(command)
        ):
            findings.append(
                _finding(
                    "dev-leftovers",
                    "history-npm-dev-dependencies",
                    "medium",
                    item,
                    "installs devDependencies: use `npm ci --omit=dev` in the runtime stage "
                    f"({where})",
                    layer_digests,
                )
            )
        tools = _build_tools_left(command)
        if tools:
            listed = ", ".join(tools[:6]) + (" …" if len(tools) > 6 else "")
            findings.append(
                _finding(
                    "build-tools",
                    "history-build-tools",
                    "medium",
                    item,
                    f"installs build tools ({listed}) that stay in the image: use a "
                    f"multi-stage build ({where})",
                    layer_digests,
                )
            )
        if _COPY_CONTEXT.match(command) and any(
            _DEPENDENCY_INSTALL.search(later) for later, *_ in commands[position + 1 :]
        ):
            findings.append(
                _finding(
                    "dev-leftovers",
                    "history-copy-context-early",
                    "low",
                    item,
                    "`COPY . .` before installing dependencies busts the build cache and, "
                    "without a .dockerignore, ships .git and local files: copy the dependency "
                    f"manifests first, install, then copy the rest ({where})",
                    layer_digests,
                )
            )
    findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], -f.bytes, f.layer, f.rule))
    return tuple(findings)
