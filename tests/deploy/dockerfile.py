"""A Dockerfile read the way BuildKit records it: each stage's ``history[].created_by``.

No Docker engine runs here, so the image is never built; what ballast's
history rules would see in it is derived from the Dockerfile instead, with
BuildKit's own spelling (``frontend/dockerfile/dockerfile2llb`` in moby/buildkit):

- ``RUN /bin/sh -c <command> # buildkit`` (exec form: the words joined by
  spaces), with ``|N K=V ...`` in front when build args are in scope;
- ``COPY [--chown=…] [--chmod=…] <src>… <dest> # buildkit`` (``--from`` and
  ``--link`` are not recorded), ``ADD`` alike;
- ``ENV K=V …``, ``LABEL k=v …``, ``USER u``, ``ARG K=V``, ``WORKDIR /abs``,
  ``EXPOSE [8443/tcp]``, ``ENTRYPOINT ["a" "b"]``, ``CMD [...]``: no layer
  (``WORKDIR`` makes one unless it is ``/``), no ``# buildkit`` suffix.

Continuation lines are joined as BuildKit joins them (the backslash and newline
dropped, the next line's indentation kept); comment lines are dropped.
Instructions not listed raise, so a Dockerfile change that needs more of
BuildKit's behaviour fails loudly here instead of being misread.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

_CONTINUATION = re.compile(r"\\\s*$")
_VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


@dataclass(frozen=True, slots=True)
class Instruction:
    keyword: str
    """Upper case: ``RUN``, ``COPY`` …"""
    arguments: str
    """Everything after the keyword, continuation lines joined."""
    line: int


@dataclass(slots=True)
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HistoryStep:
    created_by: str
    empty_layer: bool


def parse(text: str) -> list[Stage]:
    """The stages of a Dockerfile, in order."""
    stages: list[Stage] = []
    for instruction in _instructions(text):
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            words = [w for w in words if not w.startswith("--platform=")]
            name = words[2] if len(words) == 3 and words[1].lower() == "as" else None
            stages.append(Stage(base=words[0], name=name))
        elif instruction.keyword == "ARG" and not stages:
            continue  # a global ARG, for FROM lines only
        else:
            if not stages:
                raise ValueError(f"line {instruction.line}: {instruction.keyword} before FROM")
            stages[-1].instructions.append(instruction)
    return stages


def _instructions(text: str) -> list[Instruction]:
    found: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue  # comments (and parser directives), blank lines between instructions
        if not pending:
            start = number
        if _CONTINUATION.search(raw):
            pending.append(_CONTINUATION.sub("", raw))
            continue
        pending.append(raw)
        joined = "".join(pending).strip()
        pending = []
        keyword, _, arguments = joined.partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip(), start))
    if pending:
        raise ValueError(f"line {start}: the Dockerfile ends inside a continued instruction")
    return found


def history(stage: Stage, *, env: dict[str, str] | None = None) -> list[HistoryStep]:
    """What BuildKit appends to the base image's history for this stage.

    ``env`` is the base image's environment (variables expand against it).
    """
    environment = dict(env or {})
    build_args: list[tuple[str, str]] = []
    steps: list[HistoryStep] = []
    for instruction in stage.instructions:
        keyword, arguments = instruction.keyword, instruction.arguments
        if keyword == "RUN":
            command = _exec_or_shell(arguments, shell=True)
            prefix = ""
            if build_args:
                prefix = f"|{len(build_args)} " + " ".join(f"{k}={v}" for k, v in build_args) + " "
            steps.append(HistoryStep(f"RUN {prefix}{command} # buildkit", empty_layer=False))
        elif keyword in ("COPY", "ADD"):
            words = shlex.split(arguments)
            flags = [w for w in words if w.startswith("--")]
            paths = [_expand(w, environment) for w in words if not w.startswith("--")]
            kept = [f for f in flags if f.split("=", 1)[0] in ("--parents", "--chown", "--chmod")]
            kept.sort(key=lambda f: ("--parents", "--chown", "--chmod").index(f.split("=", 1)[0]))
            recorded = " ".join([keyword, *kept, *paths])
            steps.append(HistoryStep(f"{recorded} # buildkit", empty_layer=False))
        elif keyword in ("ENV", "LABEL"):
            pairs = _pairs(arguments)
            expanded = [(k, _expand(v, environment) if keyword == "ENV" else v) for k, v in pairs]
            if keyword == "ENV":
                environment.update(expanded)
            text = " ".join(f"{k}={v}" for k, v in expanded)
            steps.append(HistoryStep(f"{keyword} {text}", empty_layer=True))
        elif keyword == "ARG":
            key, has_value, value = arguments.partition("=")
            build_args.append((key.strip(), value.strip()))
            text = f"{key.strip()}={value.strip()}" if has_value else key.strip()
            steps.append(HistoryStep(f"ARG {text}", empty_layer=True))
        elif keyword == "USER":
            steps.append(HistoryStep(f"USER {_expand(arguments, environment)}", empty_layer=True))
        elif keyword == "WORKDIR":
            path = _expand(arguments, environment)
            steps.append(HistoryStep(f"WORKDIR {path}", empty_layer=path == "/"))
        elif keyword == "EXPOSE":
            ports = [p if "/" in p else f"{p}/tcp" for p in arguments.split()]
            steps.append(HistoryStep(f"EXPOSE [{' '.join(ports)}]", empty_layer=True))
        elif keyword in ("ENTRYPOINT", "CMD"):
            words = _exec_words(arguments)
            if words is None:
                words = ["/bin/sh", "-c", arguments]
            quoted = " ".join(json.dumps(w) for w in words)
            steps.append(HistoryStep(f"{keyword} [{quoted}]", empty_layer=True))
        else:
            raise NotImplementedError(
                f"line {instruction.line}: {keyword} is not converted yet; add BuildKit's "
                "spelling of it to tests/deploy/dockerfile.py"
            )
    return steps


def _exec_words(arguments: str) -> list[str] | None:
    if not arguments.startswith("["):
        return None
    try:
        words = json.loads(arguments)
    except ValueError:
        return None
    return [str(w) for w in words] if isinstance(words, list) else None


def _exec_or_shell(arguments: str, *, shell: bool) -> str:
    words = _exec_words(arguments)
    if words is not None:
        return " ".join(words)
    return f"/bin/sh -c {arguments}" if shell else arguments


def _pairs(arguments: str) -> list[tuple[str, str]]:
    pairs = []
    for word in shlex.split(arguments):
        key, has_value, value = word.partition("=")
        if not has_value:
            raise NotImplementedError(f"legacy 'KEY value' form is not converted: {arguments}")
        pairs.append((key, value))
    return pairs


def _expand(word: str, environment: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        return environment.get(match.group("braced") or match.group("plain"), "")

    return _VARIABLE.sub(value, word)
