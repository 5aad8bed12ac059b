"""Findings read from the image config's history alone: cheap, usable before layers are read.

Owns :func:`instructions` (history entries mapped onto layers, with the
Dockerfile instruction recognised in every builder's spelling: BuildKit's
``RUN /bin/sh -c ... # buildkit``, the classic builder's
``/bin/sh -c #(nop)  ENV ...``, build-arg prefixes ``|2 A=1 B=2 /bin/sh -c``)
and :func:`history_findings`, which files each instruction mistake under
the category it points to, with that layer's compressed size:

* ``package-cache``: ``apt-get install`` without ``rm -rf /var/lib/apt/lists/*``
  in the same RUN; ``apk add`` without ``--no-cache``; ``yum``/``dnf install``
  without ``clean all``; ``pip install`` without ``--no-cache-dir`` (or
  ``PIP_NO_CACHE_DIR``); ``uv pip install`` without ``--no-cache``;
* ``build-tools``: compilers, build systems, JDKs and ``-dev`` packages
  installed and *not* removed in the same RUN. The official images install
  gcc, build Python and purge it again in one RUN (``apt-mark auto '.*'`` +
  ``apt-get purge --auto-remove``; ``apk add --virtual .build-deps`` + ``apk
  del .build-deps``): that ships no compiler and gives no finding;
* ``dev-leftovers``: ``npm install``/``npm ci``/``yarn``/``pnpm install``
  without ``--omit=dev`` (or ``NODE_ENV=production``); ``COPY . .`` before a
  dependency install (cache-busting, and likely no ``.dockerignore``).

Shell text is read with a small tokenizer, not a shell: it only has to find
commands and flags in the commands package managers are run with. Imports
:mod:`ballast.facts`. Pure.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from ballast.facts import HistoryEntry, ImageFacts, LayerInfo

MAX_INSTRUCTION_CHARS: Final = 64 * 1024
"""Longer history entries are read up to this many characters (they are config strings)."""
MEMO_IMAGES: Final = 4096
"""Images whose history analysis is remembered. Facts never change for a digest and the
webhook judges the same images again and again: reading a history takes about a millisecond,
a remembered one a few microseconds. Keyed by the history and layers themselves, not the
digest, so equal inputs always give equal outputs."""

_BUILDKIT_SUFFIX: Final = re.compile(r"\s*#\s*buildkit\s*$")
_NOP: Final = re.compile(r"^/bin/(?:ba)?sh -c #\(nop\)\s*")
_SHELL_C: Final = re.compile(r"^(?:/bin/|/usr/bin/)?(?:ba|da)?sh\s+-c\s+")
_BUILD_ARGS: Final = re.compile(r"^\|\d+\s+(?:\S+=(?:\"[^\"]*\"|'[^']*'|\S*)\s+)*")
_RUN_FLAGS: Final = re.compile(r"^(?:--(?:mount|network|security)=\S+\s+)+")
_CACHE_MOUNT: Final = re.compile(r"--mount=(\S*type=cache\S*)")
_CACHE_TARGET: Final = re.compile(r"(?:^|,)(?:target|dst|destination)=([^,\s]+)")
_KEYWORDS: Final = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)


@dataclass(frozen=True, slots=True)
class Instruction:
    """One history entry, recognised."""

    position: int
    """Index in the config's history."""
    layer_index: int | None
    """The layer it made, or ``None`` for empty-layer entries (ENV, CMD ...)."""
    keyword: str
    """``RUN``, ``COPY``, ``ENV`` ...; ``""`` for comments (``# debian.sh ...``) and unknowns."""
    body: str
    """What follows the keyword; for RUN, the shell command."""
    created_by: str
    """The history text as the image gives it."""


def parse_created_by(created_by: str) -> tuple[str, str]:
    """``(keyword, body)`` of one history text, whatever builder wrote it."""
    text = _BUILDKIT_SUFFIX.sub("", created_by[:MAX_INSTRUCTION_CHARS].strip())
    nop = _NOP.match(text)
    if nop is not None:
        text = text[nop.end() :].strip()
        keyword, _, body = text.partition(" ")
        return (keyword.upper(), body.strip()) if keyword.upper() in _KEYWORDS else ("", text)
    if text.startswith("RUN "):
        text = text[4:].lstrip()
    elif text.startswith("#"):
        return "", text
    else:
        keyword, _, body = text.partition(" ")
        if keyword in _KEYWORDS:
            return keyword, body.strip()
    flags = _RUN_FLAGS.match(text)  # BuildKit keeps RUN --mount=... in the history
    if flags is not None:
        text = text[flags.end() :]
    args = _BUILD_ARGS.match(text)
    if args is not None:
        text = text[args.end() :]
    shell = _SHELL_C.match(text)
    if shell is not None:
        text = text[shell.end() :]
    return "RUN", text.strip()


def cache_mounts(created_by: str) -> tuple[str, ...]:
    """Targets of BuildKit cache mounts (``RUN --mount=type=cache,target=/root/.cache/pip``).

    What goes to a cache mount is not in the layer, so the cache checks for
    those paths stay silent.
    """
    targets: list[str] = []
    for mount in _CACHE_MOUNT.finditer(created_by[:MAX_INSTRUCTION_CHARS]):
        target = _CACHE_TARGET.search(mount[1])
        if target is not None:
            targets.append(target[1].rstrip("/") or "/")
    return tuple(targets)


def _mounted(targets: Sequence[str], *paths: str) -> bool:
    """True when a cache mount covers one of ``paths`` (a mount *inside* one does not).

    A path starting with ``~`` matches any home directory (``/root/.cache/pip``,
    ``/home/app/.cache/pip``).
    """
    for target in targets:
        for path in paths:
            if path.startswith("~"):
                suffix = path[1:]
                if any(target.endswith(suffix[: i or None]) for i in _suffix_cuts(suffix)):
                    return True
            elif target == "/" or path == target or path.startswith(target + "/"):
                return True
    return False


def _suffix_cuts(suffix: str) -> list[int]:
    """Cut points of ``/.cache/pip``: the whole, then ``/.cache`` (a mount of the parent)."""
    cuts = [0]
    position = suffix.rfind("/")
    while position > 0:
        cuts.append(position)
        position = suffix.rfind("/", 0, position)
    return cuts


def instructions(facts: ImageFacts) -> tuple[Instruction, ...]:
    """The history, recognised and mapped onto layers (empty-layer entries have no layer).

    Without a history, the layers' own ``created_by`` are used.
    """
    return instructions_of(facts.history, facts.layers)


def instructions_of(
    history: Sequence[HistoryEntry], layers: Sequence[LayerInfo]
) -> tuple[Instruction, ...]:
    """:func:`instructions` for a history and layers given apart."""
    result: list[Instruction] = []
    if history:
        layer = 0
        for position, entry in enumerate(history):
            index: int | None = None
            if not entry.empty_layer:
                index = layer if layer < len(layers) else None
                layer += 1
            keyword, body = parse_created_by(entry.created_by)
            result.append(Instruction(position, index, keyword, body, entry.created_by))
        return tuple(result)
    for index, info in enumerate(layers):
        if info.created_by:
            keyword, body = parse_created_by(info.created_by)
            result.append(Instruction(index, index, keyword, body, info.created_by))
    return tuple(result)


def env_values(body: str) -> dict[str, str]:
    """Variables an ENV instruction sets (``A=1 B="x y"`` or the legacy ``A value``)."""
    body = body.strip()
    if not body:
        return {}
    first = body.split(None, 1)[0]
    if "=" not in first:
        name, _, value = body.partition(" ")
        return {name: value.strip()}
    values: dict[str, str] = {}
    for match in re.finditer(
        r"([A-Za-z_][A-Za-z0-9_.-]*)=(\"(?:[^\"\\]|\\.)*\"|'[^']*'|\S*)", body
    ):
        values[match[1]] = match[2].strip("\"'")
    return values


# -- shell text --------------------------------------------------------------------------------

_SEPARATORS: Final = re.compile(r"&&|\|\||;|\||\n|\$\(|`|\)|\bthen\b|\bdo\b|\belse\b")
_ASSIGNMENT: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PREFIXES: Final = frozenset(
    {"sudo", "env", "command", "exec", "time", "nice", "{", "(", "!", "-E"}
)


@dataclass(frozen=True, slots=True)
class Command:
    """One simple command of a RUN: its words after any ``VAR=value`` and ``sudo`` prefixes."""

    words: tuple[str, ...]
    assignments: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.words[0].rsplit("/", 1)[-1] if self.words else ""

    def has(self, *flags: str) -> bool:
        """True when any of ``flags`` is given (``--omit=dev`` or ``--omit dev``)."""
        for flag in flags:
            name, equals, value = flag.partition("=")
            for position, word in enumerate(self.words):
                if word == flag:
                    return True
                if equals and word == name and self.words[position + 1 : position + 2] == (value,):
                    return True
        return False


def commands(script: str) -> tuple[Command, ...]:
    """Split shell text into simple commands (roughly: good enough for package managers)."""
    result: list[Command] = []
    for segment in _SEPARATORS.split(script.replace("\\\n", " ")):
        words = [w.strip("\"'") for w in segment.split()]
        assignments: dict[str, str] = {}
        start = 0
        while start < len(words) and (words[start] in _PREFIXES or _ASSIGNMENT.match(words[start])):
            if _ASSIGNMENT.match(words[start]):
                name, _, value = words[start].partition("=")
                assignments[name] = value
            start += 1
        if start < len(words):
            result.append(Command(tuple(words[start:]), assignments))
    return tuple(result)


# Options that take a value as the next word, per package manager.
_APT_VALUE_OPTIONS: Final = frozenset({"-o", "-t", "--target-release", "-c", "--config-file"})
_APK_VALUE_OPTIONS: Final = frozenset(
    {"--virtual", "-t", "--repository", "-X", "--root", "-p", "--arch", "--keys-dir"}
)
_YUM_VALUE_OPTIONS: Final = frozenset({"--setopt", "--enablerepo", "--disablerepo", "--releasever"})


def _operands(words: Sequence[str], value_options: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    """(subcommand, package operands) of ``apt-get -y install a b`` style words."""
    sub = ""
    operands: list[str] = []
    skip = False
    for word in words[1:]:
        if skip:
            skip = False
            continue
        if word in value_options:
            skip = True
            continue
        if word.startswith("-") or not word:
            continue
        if not sub:
            sub = word
            continue
        if "$" in word or word.startswith(("<", ">")) or word in ("\\",):
            continue
        operands.append(word.split("=", 1)[0])
    return sub, tuple(operands)


def _option_value(words: Sequence[str], *names: str) -> str | None:
    for position, word in enumerate(words):
        for name in names:
            if word == name and position + 1 < len(words):
                return words[position + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


_BUILD_PACKAGE: Final = re.compile(
    r"^(?:build-essential|build-base|gcc(?:-\d+)?|g\+\+(?:-\d+)?|gcc-c\+\+|cpp(?:-\d+)?"
    r"|clang(?:-\d+)?|llvm(?:-\d+)?|make|cmake|ninja-build|meson|automake|autoconf|libtool"
    r"|pkg-config|pkgconf|golang(?:-go|-\d+(?:\.\d+)?(?:-go)?)?|go|rustc|cargo|rust"
    r"|default-jdk(?:-headless)?|openjdk-?\d+(?:-jdk(?:-headless)?)?|maven|gradle|dpkg-dev)$"
)
_DEV_PACKAGE: Final = re.compile(r"^[a-z0-9][a-z0-9.+-]*-(?:dev|devel|headers)(?::\w+)?$")


def is_build_package(name: str) -> bool:
    """True for compilers, build systems, JDKs and headers (``-dev``) by package name."""
    return bool(_BUILD_PACKAGE.match(name) or _DEV_PACKAGE.match(name))


def _is_toolchain(name: str) -> bool:
    return bool(_BUILD_PACKAGE.match(name))


_COMPILER: Final = re.compile(
    r"^(?:build-essential|build-base|gcc|g\+\+|clang|golang|go|rustc|cargo|default-jdk|openjdk)"
)


def _rank(name: str) -> int:
    """Compilers first, then build systems, then headers: the names people recognise."""
    if _COMPILER.match(name):
        return 0
    return 1 if _is_toolchain(name) else 2


# -- one RUN, read ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    """What one RUN does with package managers."""

    apt_installs: list[str] = field(default_factory=list)
    apt_updates: bool = False
    apt_installed: bool = False
    apt_lists_removed: bool = False
    apt_auto_purge: bool = False
    apt_mark_auto: bool = False
    removed: set[str] = field(default_factory=set)
    apk_adds: list[tuple[str, bool, str | None]] = field(default_factory=list)
    """(package, --no-cache, virtual group)."""
    apk_cache_removed: bool = False
    apk_deleted_groups: set[str] = field(default_factory=set)
    yum_installs: list[str] = field(default_factory=list)
    yum_installed: bool = False
    yum_cleaned: bool = False
    pip_without_cache_flag: list[str] = field(default_factory=list)
    uv_without_cache_flag: list[str] = field(default_factory=list)
    pip_cache_removed: bool = False
    node_dev_installs: list[str] = field(default_factory=list)
    node_pruned: bool = False
    dependency_install: bool = False
    others: list[str] = field(default_factory=list)


_PIP_NAME: Final = re.compile(r"^pip(?:3(?:\.\d+)?)?$")
_PYTHON_NAME: Final = re.compile(r"^python(?:3(?:\.\d+)?)?$")
_DEPENDENCY_INSTALLS: Final = frozenset(
    {
        ("npm", "install"),
        ("npm", "i"),
        ("npm", "ci"),
        ("yarn", ""),
        ("yarn", "install"),
        ("pnpm", "install"),
        ("pnpm", "i"),
        ("pip", "install"),
        ("poetry", "install"),
        ("pipenv", "install"),
        ("uv", "sync"),
        ("uv", "pip"),
        ("bundle", "install"),
        ("go", "mod"),
        ("go", "build"),
        ("mvn", "*"),
        ("gradle", "*"),
        ("./gradlew", "*"),
        ("./mvnw", "*"),
        ("composer", "install"),
        ("cargo", "build"),
        ("dotnet", "restore"),
        ("dotnet", "publish"),
    }
)


def _first_operand(words: Sequence[str]) -> str:
    return next((w for w in words[1:] if not w.startswith("-")), "")


def _read_run(body: str, env: Mapping[str, str]) -> _Run:
    run = _Run()
    for command in commands(body):
        words = command.words
        name = command.name
        removes_path = name == "rm"
        if removes_path:
            targets = " ".join(words[1:])
            if "/var/lib/apt/lists" in targets:
                run.apt_lists_removed = True
            if "/var/cache/apk" in targets:
                run.apk_cache_removed = True
            if "/var/cache/yum" in targets or "/var/cache/dnf" in targets:
                run.yum_cleaned = True
            if re.search(r"(?:^|\s)(?:/root|~|\$HOME)/\.cache(?:/pip|/uv)?/?\*?(?:\s|$)", targets):
                run.pip_cache_removed = True
            continue
        if name in ("apt-get", "apt", "aptitude"):
            sub, operands = _operands(words, _APT_VALUE_OPTIONS)
            if sub == "update":
                run.apt_updates = True
            elif sub == "install":
                run.apt_installed = True
                run.apt_installs.extend(operands)
            elif sub in ("purge", "remove"):
                run.removed.update(operands)
                if command.has("--auto-remove", "--autoremove"):
                    run.apt_auto_purge = True
            elif sub == "autoremove":
                run.apt_auto_purge = True
            continue
        if name == "apt-mark" and _first_operand(words) == "auto":
            run.apt_mark_auto = True
            continue
        if name == "dpkg" and command.has("--purge", "-P", "--remove", "-r"):
            run.removed.update(w for w in words[1:] if not w.startswith("-"))
            continue
        if name == "apk":
            sub, operands = _operands(words, _APK_VALUE_OPTIONS)
            if sub == "add":
                virtual = _option_value(words, "--virtual", "-t")
                no_cache = command.has("--no-cache")
                run.apk_adds.extend((p, no_cache, virtual) for p in operands)
                if virtual is not None and not operands:
                    run.apk_adds.append(("", no_cache, virtual))
            elif sub == "del":
                run.removed.update(operands)
                run.apk_deleted_groups.update(operands)
            elif sub == "cache" and operands[:1] in (("clean",), ("purge",)):
                run.apk_cache_removed = True
            continue
        if name in ("yum", "dnf", "microdnf", "tdnf"):
            sub, operands = _operands(words, _YUM_VALUE_OPTIONS)
            if sub == "install":
                run.yum_installed = True
                run.yum_installs.extend(operands)
            elif sub in ("remove", "erase", "autoremove"):
                run.removed.update(operands)
            elif sub == "clean":
                run.yum_cleaned = True
            continue
        pip_words: Sequence[str] | None = None
        if _PIP_NAME.match(name):
            pip_words = words
        elif _PYTHON_NAME.match(name) and words[1:3] == ("-m", "pip"):
            pip_words = words[2:]
        if pip_words is not None:
            sub = _first_operand(pip_words)
            if sub == "install":
                run.dependency_install = True
                cache_off = "PIP_NO_CACHE_DIR" in command.assignments or "PIP_NO_CACHE_DIR" in env
                if not cache_off and "--no-cache-dir" not in pip_words:
                    run.pip_without_cache_flag.append(" ".join(pip_words[:6]))
            elif sub == "cache" and "purge" in pip_words:
                run.pip_cache_removed = True
            continue
        if name == "uv" and words[1:3] == ("pip", "install"):
            run.dependency_install = True
            if "--no-cache" not in words and "UV_NO_CACHE" not in env:
                run.uv_without_cache_flag.append(" ".join(words[:6]))
            continue
        if name in ("npm", "yarn", "pnpm"):
            _read_node(command, run, env)
            continue
        sub = _first_operand(words)
        if (name, sub) in _DEPENDENCY_INSTALLS or (name, "*") in _DEPENDENCY_INSTALLS:
            run.dependency_install = True
    return run


def _read_node(command: Command, run: _Run, env: Mapping[str, str]) -> None:
    words = command.words
    name = command.name
    sub = _first_operand(words)
    node_env = command.assignments.get("NODE_ENV", env.get("NODE_ENV", ""))
    production = node_env == "production"
    if name == "npm" and sub == "prune":
        if command.has("--omit=dev", "--production") or production:
            run.node_pruned = True
        return
    if name == "pnpm" and sub == "prune" and command.has("--prod"):
        run.node_pruned = True
        return
    installs = (name == "npm" and sub in ("install", "i", "ci", "install-clean")) or (
        name in ("yarn", "pnpm") and sub in ("", "install", "i")
    )
    if not installs:
        return
    run.dependency_install = True
    if command.has("-g", "--global"):
        return
    positional = [w for w in words[2:] if not w.startswith("-")]
    if name == "npm" and positional:
        return  # adding named packages, not installing a project
    if production or command.has(
        "--omit=dev",
        "--production",
        "--only=prod",
        "--only=production",
        "--prod",
        "-P",
        "--production=true",
    ):
        return
    run.node_dev_installs.append(" ".join(words[:4]))


# -- findings ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryFinding:
    """A mistake visible in one history instruction."""

    category: str
    """``build-tools``, ``package-cache`` or ``dev-leftovers``."""
    check: str
    """Which check fired (``apt-lists``, ``pip-cache``, ``compiler`` ...)."""
    severity: str
    """``low`` or ``medium``."""
    layer_index: int
    layer_digest: str
    layer_bytes: int
    """The layer's compressed size: an upper bound of what the fix saves, as pulled."""
    created_by: str
    message: str
    """What is wrong, in a few words, without the layer."""
    advice: str
    """The fix, in one line."""
    packages: tuple[str, ...] = ()
    """Packages behind a build-tools finding."""


def _show_packages(names: Iterable[str], limit: int = 4) -> str:
    unique = list(dict.fromkeys(names))
    shown = ", ".join(unique[:limit])
    return shown + (f" +{len(unique) - limit}" if len(unique) > limit else "")


def _kept_build_packages(run: _Run) -> list[str]:
    """Build packages this RUN installs and does not remove again."""
    if run.apt_auto_purge and run.apt_mark_auto:
        apt_kept: list[str] = []  # the official images' savedAptMark idiom purges them all
    else:
        apt_kept = [p for p in run.apt_installs if p not in run.removed]
    apk_kept = [
        p
        for p, _, group in run.apk_adds
        if p and p not in run.removed and (group is None or group not in run.apk_deleted_groups)
    ]
    yum_kept = [p for p in run.yum_installs if p not in run.removed]
    kept = [p for p in (*apt_kept, *apk_kept, *yum_kept) if is_build_package(p)]
    return sorted(kept, key=_rank)


def kept_build_packages(script: str) -> tuple[str, ...]:
    """Build packages a RUN's shell text installs and does not remove again (compilers first)."""
    return tuple(dict.fromkeys(_kept_build_packages(_read_run(script, {}))))


def history_findings(facts: ImageFacts) -> tuple[HistoryFinding, ...]:
    """Every history finding of an image, in layer order. Never raises on odd history text.

    Remembered for the last :data:`MEMO_IMAGES` histories (see there).
    """
    try:
        return _remembered_findings(facts.history, facts.layers)
    except TypeError:  # lists instead of tuples: not hashable, just compute
        return _history_findings(facts.history, facts.layers)


@functools.lru_cache(maxsize=MEMO_IMAGES)
def _remembered_findings(
    history: tuple[HistoryEntry, ...], layers: tuple[LayerInfo, ...]
) -> tuple[HistoryFinding, ...]:
    return _history_findings(history, layers)


def _history_findings(
    history: Sequence[HistoryEntry], layers: Sequence[LayerInfo]
) -> tuple[HistoryFinding, ...]:
    found: list[HistoryFinding] = []
    env: dict[str, str] = {}
    steps = instructions_of(history, layers)
    pending_copies: list[Instruction] = []
    for step in steps:
        if step.keyword == "ENV":
            env.update(env_values(step.body))
            continue
        if step.layer_index is None:
            continue
        layer = layers[step.layer_index]

        def add(
            category: str,
            check: str,
            severity: str,
            message: str,
            advice: str,
            packages: tuple[str, ...] = (),
            *,
            step: Instruction = step,
            layer_bytes: int = layer.compressed_bytes,
            digest: str = layer.digest,
        ) -> None:
            found.append(
                HistoryFinding(
                    category=category,
                    check=check,
                    severity=severity,
                    layer_index=step.layer_index if step.layer_index is not None else -1,
                    layer_digest=digest,
                    layer_bytes=layer_bytes,
                    created_by=step.created_by,
                    message=message,
                    advice=advice,
                    packages=packages,
                )
            )

        if step.keyword in ("COPY", "ADD"):
            if _copies_context(step.body):
                pending_copies.append(step)
            continue
        if step.keyword != "RUN":
            continue
        run = _read_run(step.body, env)
        mounts = cache_mounts(step.created_by)
        if run.dependency_install and pending_copies:
            for copy in pending_copies:
                if copy.layer_index is None:
                    continue
                copied = layers[copy.layer_index]
                add(
                    "dev-leftovers",
                    "copy-context",
                    "low",
                    "whole build context copied before the dependencies",
                    "copy lockfiles first, the rest last; add a .dockerignore",
                    step=copy,
                    layer_bytes=copied.compressed_bytes,
                    digest=copied.digest,
                )
            pending_copies.clear()
        if (
            (run.apt_installed or run.apt_updates)
            and not run.apt_lists_removed
            and not _mounted(mounts, "/var/lib/apt/lists")
        ):
            add(
                "package-cache",
                "apt-lists",
                "medium",
                "apt-get install without rm -rf /var/lib/apt/lists/*",
                "clean apt lists in the same RUN",
            )
        if (
            any(not no_cache for _, no_cache, _ in run.apk_adds)
            and not run.apk_cache_removed
            and not _mounted(mounts, "/var/cache/apk", "/etc/apk/cache")
        ):
            add(
                "package-cache",
                "apk-cache",
                "medium",
                "apk add without --no-cache",
                "use `apk add --no-cache`",
            )
        if (
            run.yum_installed
            and not run.yum_cleaned
            and not _mounted(mounts, "/var/cache/yum", "/var/cache/dnf")
        ):
            add(
                "package-cache",
                "yum-cache",
                "medium",
                "yum/dnf install without clean all",
                "run yum/dnf clean all in the same RUN",
            )
        if (
            run.pip_without_cache_flag
            and not run.pip_cache_removed
            and not _mounted(mounts, "~/.cache/pip")
        ):
            add(
                "package-cache",
                "pip-cache",
                "medium",
                "pip install without --no-cache-dir",
                "add --no-cache-dir (or ENV PIP_NO_CACHE_DIR=1)",
            )
        if (
            run.uv_without_cache_flag
            and not run.pip_cache_removed
            and not _mounted(mounts, "~/.cache/uv")
        ):
            add(
                "package-cache",
                "uv-cache",
                "medium",
                "uv pip install without --no-cache",
                "add --no-cache (or ENV UV_NO_CACHE=1)",
            )
        if run.node_dev_installs and not run.node_pruned:
            add(
                "dev-leftovers",
                "node-dev-dependencies",
                "medium",
                f"`{run.node_dev_installs[0]}` installs devDependencies",
                "use npm ci --omit=dev (or NODE_ENV=production)",
            )
        kept = _kept_build_packages(run)
        if kept:
            toolchain = any(_is_toolchain(p) for p in kept)
            add(
                "build-tools",
                "compiler" if toolchain else "headers",
                "medium" if toolchain else "low",
                f"{_show_packages(kept)} installed and kept",
                "use a multi-stage build (or purge them in the same RUN)",
                tuple(dict.fromkeys(kept)),
            )
    return tuple(found)


def _copies_context(body: str) -> bool:
    """True for ``COPY . .``, ``COPY --chown=app . /app``, ``ADD ./ /src`` (not ``--from``)."""
    words = body.split()
    if any(w.startswith("--from") for w in words):
        return False
    operands = [w for w in words if not w.startswith("--")]
    return len(operands) >= 2 and any(w in (".", "./") for w in operands[:-1])
