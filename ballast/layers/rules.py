"""The catalogue of path rules behind deep findings.

Owns :data:`RULES` and :func:`classify`: which paths are build toolchains,
package-manager caches, development leftovers and runtime tools, with the
advice that fixes each. A rule matches *files* by path; ``trigger`` (when set)
must also match some visible file, so that a stray header does not make a
compiler finding; ``packages`` names the packages to quote next to the bytes
("gcc-12: 68 MB"). Paths are clean (no leading ``/``). Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from ballast.layers.finding import Category, Severity

_HOME: Final = r"(?:root|home/[^/]+|[^/]+(?:/[^/]+)*?)"
_LIBRARY_DIRS: Final = re.compile(
    r"(?:^|/)(?:node_modules|site-packages|dist-packages|vendor|gems|\.cargo|go/pkg)/"
    r"|^(?:usr|lib|lib64|bin|sbin|etc|proc|sys|var/lib)/"
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One kind of dead weight, recognised by path."""

    id: str
    """Stable identifier used in findings (``apt-lists``)."""
    category: Category
    """Finding category."""
    severity: Severity
    """Severity when it fires."""
    title: str
    """What it is, in a few words."""
    advice: str
    """One-line fix; ``{saving}`` is replaced by the bytes it would save."""
    pattern: str
    """Regex matched at the start of a clean path; group ``root`` names the thing to report."""
    anywhere: bool = False
    """Match after any ``/`` too (``.git/`` anywhere), not only at the start."""
    trigger: re.Pattern[str] | None = None
    """Some visible path must match this for the rule to fire at all."""
    packages: re.Pattern[str] | None = None
    """Package names to quote with the finding."""
    min_bytes: int = 0
    """Below this many bytes the rule stays silent."""
    exclude_libraries: bool = False
    """Skip paths inside library directories (site-packages, node_modules, /usr ...)."""


_MiB = 1024 * 1024

RULES: Final[tuple[Rule, ...]] = (
    # -- package-cache -----------------------------------------------------------
    Rule(
        "apt-lists",
        "package-cache",
        "medium",
        "apt package lists",
        "run `rm -rf /var/lib/apt/lists/*` in the same RUN as `apt-get install` (saves {saving})",
        r"(?P<root>var/lib/apt/lists)/(?!lock$)(?!partial$)[^/]",
    ),
    Rule(
        "apt-cache",
        "package-cache",
        "medium",
        "apt package archives",
        "run `apt-get clean` in the same RUN as `apt-get install` (saves {saving})",
        r"(?P<root>var/cache/apt)/(?:archives/[^/]+\.deb$|[^/]+\.bin$)",
    ),
    Rule(
        "apk-cache",
        "package-cache",
        "medium",
        "apk package cache",
        "use `apk add --no-cache` (saves {saving})",
        r"(?P<root>(?:var/cache/apk|etc/apk/cache))/[^/]",
    ),
    Rule(
        "yum-cache",
        "package-cache",
        "medium",
        "yum/dnf cache",
        "run `yum clean all` / `dnf clean all` in the same RUN as the install (saves {saving})",
        r"(?P<root>var/cache/(?:yum|dnf|zypp))/",
    ),
    Rule(
        "pip-cache",
        "package-cache",
        "medium",
        "pip cache",
        "use `pip install --no-cache-dir` or set PIP_NO_CACHE_DIR=1 (saves {saving})",
        r"(?P<root>(?:[^/]+/)*?\.cache/pip)/",
        anywhere=True,
    ),
    Rule(
        "poetry-cache",
        "package-cache",
        "medium",
        "poetry cache",
        "run `poetry cache clear --all .` in the same RUN or use a cache mount (saves {saving})",
        r"(?P<root>(?:[^/]+/)*?\.cache/pypoetry)/",
        anywhere=True,
    ),
    Rule(
        "uv-cache",
        "package-cache",
        "medium",
        "uv cache",
        "use `uv pip install --no-cache` or a cache mount (saves {saving})",
        r"(?P<root>(?:[^/]+/)*?\.cache/uv)/",
        anywhere=True,
    ),
    Rule(
        "npm-cache",
        "package-cache",
        "medium",
        "npm cache",
        "run `npm cache clean --force` in the same RUN or use a cache mount (saves {saving})",
        r"(?P<root>(?:[^/]+/)*?\.npm/_cacache)/",
        anywhere=True,
    ),
    Rule(
        "yarn-cache",
        "package-cache",
        "medium",
        "yarn cache",
        "run `yarn cache clean` in the same RUN or use a cache mount (saves {saving})",
        r"(?P<root>(?:[^/]+/)*?(?:\.cache/yarn|\.yarn/cache|\.yarn-cache|\.cache/pnpm|"
        r"\.local/share/pnpm/store))/",
        anywhere=True,
    ),
    Rule(
        "go-cache",
        "package-cache",
        "medium",
        "Go build and module cache",
        "build in a builder stage and copy only the binary (saves {saving})",
        r"(?P<root>(?:[^/]+/)*?(?:\.cache/go-build|go/pkg/mod))/",
        anywhere=True,
    ),
    Rule(
        "jvm-cache",
        "package-cache",
        "medium",
        "Maven/Gradle dependency cache",
        "build in a builder stage and copy only the artifact (saves {saving})",
        r"(?P<root>(?:[^/]+/)*?(?:\.m2/repository|\.gradle/caches))/",
        anywhere=True,
    ),
    # -- build-tools -------------------------------------------------------------
    Rule(
        "compiler",
        "build-tools",
        "medium",
        "C/C++ compiler toolchain",
        "use a multi-stage build: compile in a builder stage, copy only the artifacts "
        "(saves {saving})",
        r"(?P<root>usr/(?:lib|libexec)/gcc)/|(?P<bin>usr/bin/(?:[\w.+-]*-)?"
        r"(?:gcc|g\+\+|c\+\+|cc|cpp|clang|clang\+\+|cc1)(?:-[\d.]+)?)$"
        r"|(?P<llvm>usr/lib/llvm-[\d.]+)/(?:bin/clang|lib/clang/)",
        trigger=re.compile(
            r"(?:^|/)(?:cc1|cc1plus)$|^usr/bin/(?:[\w.+-]*-)?(?:gcc|g\+\+|clang|clang\+\+)"
            r"(?:-[\d.]+)?$|^usr/lib/llvm-[\d.]+/bin/clang"
        ),
        packages=re.compile(
            r"^(?:gcc|g\+\+|cpp|clang|llvm)(?:-[\d.]+)?$|^(?:gcc|cpp|g\+\+)-\d+-|^libgcc-\d+-dev$"
            r"|^libstdc\+\+-\d+-dev$|^build-essential$|^build-base$"
        ),
    ),
    Rule(
        "build-system",
        "build-tools",
        "low",
        "build tools (make, cmake, autotools)",
        "use a multi-stage build so that build tools stay in the builder stage (saves {saving})",
        r"(?P<bin>usr/(?:local/)?bin/(?:make|gmake|cmake|ctest|cpack|ninja|autoconf|automake"
        r"|autoreconf|libtool|m4|bison|flex))$|(?P<root>usr/(?:local/)?share/"
        r"(?:cmake-[\d.]+|cmake|automake-[\d.]+|autoconf|libtool))/",
        trigger=re.compile(r"^usr/(?:local/)?bin/(?:make|gmake|cmake|ninja|autoconf|automake)$"),
        packages=re.compile(r"^(?:make|cmake|cmake-data|ninja-build|autoconf|automake|libtool)$"),
    ),
    Rule(
        "go-toolchain",
        "build-tools",
        "medium",
        "Go toolchain",
        "build the Go binary in a builder stage and copy only it (distroless/static) "
        "(saves {saving})",
        r"(?P<root>usr/local/go|usr/lib/go(?:-[\d.]+)?)/",
        trigger=re.compile(r"^(?:usr/local/go|usr/lib/go(?:-[\d.]+)?)/(?:bin/go$|pkg/tool/)"),
        packages=re.compile(r"^golang(?:-[\d.]+)?(?:-go|-src)?$|^go$"),
    ),
    Rule(
        "rust-toolchain",
        "build-tools",
        "medium",
        "Rust toolchain",
        "build with cargo in a builder stage and copy only the binary (saves {saving})",
        r"(?P<root>usr/local/rustup|usr/local/cargo/bin|(?:[^/]+/)*?\.rustup|"
        r"(?:[^/]+/)*?\.cargo/bin|usr/lib/rustlib)/|(?P<bin>usr/bin/(?:rustc|cargo|rustdoc))$",
        trigger=re.compile(r"(?:^|/)(?:rustc|cargo)$"),
        packages=re.compile(r"^(?:rustc|cargo|rust-src|libstd-rust-[\w.-]+)$"),
    ),
    Rule(
        "jdk",
        "build-tools",
        "medium",
        "full JDK (compiler, jmods, sources)",
        "run on a JRE or a `jlink`ed runtime instead of the full JDK (saves {saving})",
        r"(?P<root>(?:usr/lib/jvm|opt/java|opt)/[^/]+)/(?:jmods/|lib/src\.zip$|include/"
        r"|bin/(?:javac|jar|jlink|jdeps|javadoc|jshell|jdb|jmod)$)",
        trigger=re.compile(r"(?:^|/)bin/javac$"),
        packages=re.compile(r"^openjdk-\d+-jdk(?:-headless)?$|^java-[\d.]+-openjdk-devel$"),
    ),
    Rule(
        "headers",
        "build-tools",
        "low",
        "C headers (/usr/include)",
        "install -dev packages only in a builder stage (saves {saving})",
        r"(?P<root>usr/(?:local/)?include)/",
        min_bytes=10 * _MiB,
    ),
    # -- dev-leftovers -----------------------------------------------------------
    Rule(
        "vcs",
        "dev-leftovers",
        "medium",
        "version-control metadata",
        "add `.git` (and .svn/.hg) to .dockerignore (saves {saving})",
        r"(?P<root>(?:[^/]+/)*?\.(?:git|svn|hg))/",
        anywhere=True,
    ),
    Rule(
        "test-artifacts",
        "dev-leftovers",
        "low",
        "test, coverage and tool caches",
        "add test, coverage and cache directories to .dockerignore (saves {saving})",
        r"(?P<root>(?:[^/]+/)*?(?:coverage|htmlcov|\.nyc_output|\.pytest_cache|\.tox|\.nox"
        r"|\.mypy_cache|\.ruff_cache|\.hypothesis|__tests__|tests?|spec))/"
        r"|(?P<file>(?:[^/]+/)*?\.coverage(?:\.[^/]+)?)$",
        exclude_libraries=True,
        anywhere=True,
    ),
    # -- runtime-tools -----------------------------------------------------------
    Rule(
        "shell",
        "runtime-tools",
        "info",
        "shell",
        "for a distroless/scratch runtime, build without a shell "
        "(kubectl debug gives one when needed)",
        r"(?P<bin>(?:usr/)?bin/(?:sh|bash|dash|ash|zsh|ksh|mksh|busybox))$",
    ),
    Rule(
        "package-manager",
        "runtime-tools",
        "info",
        "package manager",
        "for a distroless runtime, copy the app into a base without a package manager",
        r"(?P<bin>(?:usr/)?s?bin/(?:apt|apt-get|dpkg|apk|yum|dnf|microdnf|rpm|zypper)"
        r"|usr/(?:local/)?bin/(?:pip[\d.]*|npm|yarn|pnpm|gem))$"
        r"|(?P<root>usr/(?:local/)?lib/node_modules/(?:npm|corepack|yarn)"
        r"|usr/(?:local/)?lib/python3[\d.]*/(?:site|dist)-packages/pip|usr/lib/apt)/",
    ),
    Rule(
        "debug-tools",
        "runtime-tools",
        "info",
        "debug and network tools",
        "leave curl/wget/editors/debuggers out of the runtime image; use ephemeral containers",
        r"(?P<bin>(?:usr/)?s?bin/(?:curl|wget|nc|netcat|ncat|socat|telnet|ssh|scp|sftp|strace"
        r"|ltrace|gdb|tcpdump|nmap|vim?|vim\.basic|vim\.tiny|nano))$",
    ),
)

_INDEX: Final = {rule.id: rule for rule in RULES}

_MARKERS: Final = frozenset(
    {
        ".cache",
        ".npm",
        ".yarn",
        ".yarn-cache",
        ".local",
        ".m2",
        ".gradle",
        "go",
        ".git",
        ".svn",
        ".hg",
        ".rustup",
        ".cargo",
        "coverage",
        "htmlcov",
        ".nyc_output",
        ".pytest_cache",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".hypothesis",
        "__tests__",
        "test",
        "tests",
        "spec",
    }
)
"""Path components without which no ``anywhere`` rule can match (a cheap gate)."""
_ANCHORS: Final = frozenset({"usr", "var", "etc", "bin", "sbin", "opt"})
"""First path components without which no anchored rule can match."""


def _compile(rules: tuple[Rule, ...]) -> tuple[re.Pattern[str], dict[int, list[str]]]:
    parts = []
    for number, rule in enumerate(rules):
        # Group names must be unique across the alternation: prefix them per rule.
        body = rule.pattern.replace("(?P<", f"(?P<g{number}_")
        parts.append(f"(?P<r{number}>{body})")
    pattern = re.compile("|".join(parts))
    groups = {
        number: [name for name in pattern.groupindex if name.startswith(f"g{number}_")]
        for number in range(len(rules))
    }
    return pattern, groups


_ANYWHERE_RULES: Final = tuple(rule for rule in RULES if rule.anywhere)
_ANCHORED_RULES: Final = tuple(rule for rule in RULES if not rule.anywhere)
_ANYWHERE, _ANYWHERE_GROUPS = _compile(_ANYWHERE_RULES)
_ANCHORED, _ANCHORED_GROUPS = _compile(_ANCHORED_RULES)


def _resolve(
    match: re.Match[str], rules: tuple[Rule, ...], groups: dict[int, list[str]], path: str
) -> tuple[Rule, str] | None:
    number = int((match.lastgroup or "r0")[1:])
    rule = rules[number]
    if rule.exclude_libraries and _LIBRARY_DIRS.search(path):
        return None
    for name in groups[number]:
        value = match.group(name)
        if value:
            return rule, value
    return rule, path


def rule_by_id(rule_id: str) -> Rule:
    """The rule with that identifier."""
    return _INDEX[rule_id]


def classify(path: str) -> tuple[Rule, str] | None:
    """Return the rule a file path falls under and the thing to report (its ``root``).

    Rules that can match anywhere in a path (caches in a home directory,
    ``.git``) are tried first, then rules anchored at system directories.
    Two set look-ups keep the common case (no rule) under a microsecond.
    """
    components = path.split("/")
    if not _MARKERS.isdisjoint(components) or components[-1].startswith(".coverage"):
        match = _ANYWHERE.match(path)
        if match is not None:
            found = _resolve(match, _ANYWHERE_RULES, _ANYWHERE_GROUPS, path)
            if found is not None:
                return found
    if components[0] in _ANCHORS:
        match = _ANCHORED.match(path)
        if match is not None:
            return _resolve(match, _ANCHORED_RULES, _ANCHORED_GROUPS, path)
    return None
