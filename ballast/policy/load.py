"""YAML → :class:`~ballast.policy.document.Policy`, validated against the published schema.

Owns :func:`load_policy` (text), :func:`load_policy_file`,
:func:`policy_from_document` (an already parsed mapping, e.g. a ConfigMap
value), :func:`default_policy` and :func:`policy_schema`. Validation runs at
start-up and on every reload, and reports *every* problem at once, each with
the path of the field it is about (``spec.rules.maxCompressedSize.limit:
'40OMB' is not a size (use 400MB, 1.5GiB or bytes)``), in one
:class:`~ballast._errors.PolicyError`; a reloading service keeps its previous
policy when that is raised. Duplicate YAML keys are problems too (PyYAML
would silently keep the last one). Imports PyYAML and jsonschema; no I/O
except :func:`load_policy_file` reading the one file it is given.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
from collections.abc import Hashable, Iterable, Mapping, Sequence
from importlib import resources
from typing import Any, Final, cast

import jsonschema
import yaml

from ballast._errors import PolicyError
from ballast.policy.document import (
    DEFAULT_EXEMPT_NAMESPACES,
    DEFAULT_WEBHOOK_NAMESPACE,
    LabelOperator,
    LabelRequirement,
    LabelSelector,
    Patterns,
    Policy,
    Rule,
    Scope,
    Selection,
)
from ballast.policy.finding import Category
from ballast.policy.outcome import Action, Verdict
from ballast.policy.rules import LIMIT_RULES, RULE_SPECS
from ballast.policy.size import SIZE_HINT, parse_size

DEFAULT_MAX_COMPRESSED_BYTES: Final = 400_000_000
"""The size budget of the defaults: 400 MB compressed, unless justified (DESIGN.md)."""
MAX_POLICY_BYTES: Final = 1024 * 1024
"""A policy larger than this is refused unread: it is a mistake, not a policy."""
DEFAULTS_SOURCE: Final = "built-in defaults"


@functools.cache
def policy_schema() -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) of the policy document."""
    text = resources.files("ballast.policy").joinpath("schema.json").read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    schema = policy_schema()
    return jsonschema.Draft202012Validator(schema)


def default_policy(mode: Action = Action.WARN) -> Policy:
    """The policy used when none is given.

    Warn above 400 MB compressed, and on build toolchains and package caches;
    deny secrets. ``mode`` changes the action of every default rule, except
    that secrets stay ``enforce`` unless the mode is ``audit`` (a dry run must
    never deny).
    """
    return Policy(mode=mode, rules=default_rules(mode), name="default", source=DEFAULTS_SOURCE)


def default_rules(mode: Action = Action.WARN) -> tuple[Rule, ...]:
    """The rules a policy without ``spec.rules`` gets (see :func:`default_policy`)."""
    secrets_action = None if mode is Action.AUDIT else Action.ENFORCE
    return (
        Rule("maxCompressedSize", limit=DEFAULT_MAX_COMPRESSED_BYTES),
        Rule(Category.BUILD_TOOLS.value),
        Rule(Category.PACKAGE_CACHE.value),
        Rule(Category.SECRETS.value, action=secrets_action),
    )


def load_policy_file(path: str | os.PathLike[str]) -> Policy:
    """Read and validate a policy file; raise :class:`PolicyError` naming the file.

    An unreadable file is a PolicyError too (with the OS reason), so a
    service's reload loop has one exception to handle.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise PolicyError(
            f"cannot read policy file {name}: {reason}; check the path (--policy) and the mount",
            problems=[f"{name}: {reason}"],
        ) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"policy file {name} is not UTF-8 text",
            problems=[f"{name}: byte {exc.start} is not UTF-8"],
        ) from exc
    return load_policy(text, source=name)


def load_policy(text: str, *, source: str = "<policy>") -> Policy:
    """Parse and validate a YAML (or JSON) policy document.

    Raises :class:`PolicyError` whose ``problems`` lists every problem found,
    each starting with the field path (or ``line N`` for YAML syntax).
    """
    if len(text) > MAX_POLICY_BYTES:
        _fail(source, [f"the document is {len(text)} characters long; the limit is 1 MiB"])
    problems: list[str] = []
    try:
        documents = list(yaml.load_all(text, Loader=make_yaml_loader(problems)))
    except yaml.YAMLError as exc:
        _fail(source, [_yaml_problem(exc)])
    documents = [d for d in documents if d is not None]
    if problems:
        _fail(source, problems)
    if not documents:
        _fail(source, ["the document is empty; write a Policy (apiVersion: ballast.dev/v1)"])
    if len(documents) > 1:
        _fail(source, [f"found {len(documents)} YAML documents; a policy file holds exactly one"])
    return policy_from_document(documents[0], source=source)


def policy_from_document(document: object, *, source: str = "<policy>") -> Policy:
    """Validate a parsed document (mappings, lists, strings, numbers) and build the Policy."""
    problems = validation_problems(document)
    if problems:
        _fail(source, problems)
    converted: list[str] = []
    policy = _convert(cast(Mapping[str, Any], document), source=source, problems=converted)
    if converted:
        _fail(source, converted)
    return policy


def validation_problems(document: object) -> list[str]:
    """Every schema problem of ``document``, as ``path: what is wrong``, sorted by path."""
    problems: set[str] = set()
    for error in _validator().iter_errors(cast(Any, document)):
        problems.update(_describe(error))
    return sorted(problems)


def _fail(source: str, problems: list[str]) -> Any:
    count = len(problems)
    noun = "problem" if count == 1 else "problems"
    message = f"policy {source} is invalid ({count} {noun}):\n" + "\n".join(
        f"  - {p}" for p in problems
    )
    raise PolicyError(message, problems=problems)


# -- YAML ----------------------------------------------------------------------------------


def make_yaml_loader(problems: list[str]) -> type[yaml.SafeLoader]:
    """A SafeLoader that reports duplicate keys into ``problems`` instead of dropping one."""

    class _Loader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: set[Hashable] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, Hashable) and key in seen:
                    line = key_node.start_mark.line + 1
                    problems.append(f"line {line}: duplicate key {key!r} (only one is kept)")
                if isinstance(key, Hashable):
                    seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return _Loader


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: YAML syntax: {problem}"
    return f"YAML syntax: {problem}"


# -- schema errors → messages ----------------------------------------------------------------

_JSON_TYPES: Final = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a mapping",
    type(None): "empty (null)",
}


def _json_type(value: object) -> str:
    for kind, name in _JSON_TYPES.items():
        if type(value) is kind:
            return name
    return type(value).__name__


def format_path(path: Iterable[object]) -> str:
    """``["spec", "rules", "x", 0]`` → ``spec.rules.x[0]``; odd keys are quoted."""
    text = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        elif isinstance(part, str) and part and all(c.isalnum() or c in "-_" for c in part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(str(part))}]"
    return text or "(document)"


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _suggest(word: object, choices: Iterable[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _describe(error: jsonschema.ValidationError) -> list[str]:
    """One or more ``path: problem`` lines for a schema error."""
    path = list(error.absolute_path)
    where = format_path(path)
    value = error.instance
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    title = schema.get("title")
    kind = error.validator
    if title == "size" and kind in ("type", "pattern"):
        return [f"{where}: {_show(value)} is not a size ({SIZE_HINT})"]
    if title == "size" and kind == "minimum":
        return [f"{where}: {_show(value)} is negative; a size is 0 or more bytes"]
    if title == "categoryRule" and kind == "type":
        return [
            f"{where}: expected an action (enforce, warn, audit) or a mapping with action "
            f"and scope, got {_json_type(value)}"
        ]
    if kind == "required":
        missing = [
            name
            for name in cast(Sequence[str], error.validator_value)
            if isinstance(value, Mapping) and name not in value
        ]
        return [f"{format_path([*path, name])}: required field is missing" for name in missing]
    if kind == "additionalProperties" and isinstance(value, Mapping):
        known = list(schema.get("properties", {}))
        extras = [key for key in value if key not in known]
        return [
            f"{format_path([*path, key])}: unknown field{_suggest(key, known)}" for key in extras
        ]
    if kind == "type":
        wanted = error.validator_value
        names = [wanted] if isinstance(wanted, str) else list(cast(Sequence[str], wanted))
        expected = " or ".join(_SCHEMA_TYPES.get(n, n) for n in names)
        return [f"{where}: expected {expected}, got {_json_type(value)} {_show(value)}"]
    if kind == "enum":
        choices = [str(c) for c in cast(Sequence[object], error.validator_value)]
        hint = _suggest(value, choices)
        if value == "deny" and "enforce" in choices:
            hint = " (use enforce to deny)"
        return [f"{where}: {_show(value)} is not one of {', '.join(choices)}{hint}"]
    if kind == "const":
        return [f"{where}: must be {error.validator_value!r}, not {_show(value)}"]
    if kind == "minimum":
        return [f"{where}: {_show(value)} is below the minimum {error.validator_value}"]
    if kind == "maximum":
        return [f"{where}: {_show(value)} is above the maximum {error.validator_value}"]
    if kind == "minItems":
        return [f"{where}: needs at least {error.validator_value} item(s) for this operator"]
    if kind == "maxItems" and error.validator_value == 0:
        return [f"{where}: must be empty for this operator (Exists/DoesNotExist take no values)"]
    if kind == "minLength":
        return [f"{where}: must not be empty"]
    if kind == "propertyNames":
        return [f"{where}: label keys must be strings, got {_show(value)}"]
    return [f"{where}: {error.message}"]


_SCHEMA_TYPES: Final = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}


# -- document → Policy ----------------------------------------------------------------------


def _convert(document: Mapping[str, Any], *, source: str, problems: list[str]) -> Policy:
    """Build the Policy from a document the schema accepted; size overflows go to ``problems``."""
    metadata = document.get("metadata") or {}
    spec = document.get("spec") or {}
    mode = Action(spec.get("mode", Action.WARN.value))
    failure_mode = Verdict(spec.get("failureMode", Verdict.WARN.value))
    scope = _scope(spec.get("scope") or {})
    rules_doc = spec.get("rules")
    rules = (
        default_rules(mode)
        if rules_doc is None
        else _rules(rules_doc, path=["spec", "rules"], problems=problems)
    )
    return Policy(
        mode=mode,
        failure_mode=failure_mode,
        scope=scope,
        rules=rules,
        name=str(metadata.get("name", "")),
        source=source,
    )


def _strings(values: object) -> tuple[str, ...]:
    return tuple(str(v) for v in cast(Sequence[object], values or ()))


def _patterns(document: Mapping[str, Any] | None) -> Patterns:
    document = document or {}
    return Patterns(
        include=_strings(document.get("include")), exclude=_strings(document.get("exclude"))
    )


def _selector(document: Mapping[str, Any] | None) -> LabelSelector | None:
    if document is None:
        return None
    labels = document.get("matchLabels") or {}
    expressions = document.get("matchExpressions") or []
    return LabelSelector(
        match_labels=tuple((str(k), str(v)) for k, v in labels.items()),
        match_expressions=tuple(
            LabelRequirement(
                key=str(e["key"]),
                operator=LabelOperator(e["operator"]),
                values=_strings(e.get("values")),
            )
            for e in expressions
        ),
    )


def _selection(document: Mapping[str, Any]) -> Selection:
    namespaces = document.get("namespaces") or {}
    return Selection(
        namespaces=_patterns(namespaces),
        namespace_selector=_selector(namespaces.get("selector")),
        pod_selector=_selector(document.get("podSelector")),
        images=_patterns(document.get("images")),
    )


def _scope(document: Mapping[str, Any]) -> Scope:
    exempt = document.get("exemptNamespaces")
    return Scope(
        selection=_selection(document),
        webhook_namespace=str(document.get("webhookNamespace", DEFAULT_WEBHOOK_NAMESPACE)),
        exempt_namespaces=DEFAULT_EXEMPT_NAMESPACES if exempt is None else _strings(exempt),
    )


def _action(value: object) -> Action | None:
    return None if value is None else Action(str(value))


def _rule_scope(document: Mapping[str, Any]) -> Selection | None:
    scope = document.get("scope")
    return None if scope is None else _selection(scope)


def _rules(
    document: Mapping[str, Any], *, path: list[str], problems: list[str]
) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for rule_id in LIMIT_RULES:
        body = document.get(rule_id)
        if body is None:
            continue
        spec = RULE_SPECS[rule_id]
        raw = body["limit"]
        limit: float
        if spec.unit is not None and spec.unit.is_bytes:
            try:
                limit = parse_size(raw)
            except ValueError as exc:
                problems.append(f"{format_path([*path, rule_id, 'limit'])}: {exc}")
                continue
        else:
            limit = raw
        rules.append(
            Rule(rule_id, action=_action(body.get("action")), limit=limit, scope=_rule_scope(body))
        )
    findings = document.get("findings") or {}
    heavy = document.get("heavyBase")
    for category in Category:
        entry = findings.get(category.value)
        if category is Category.HEAVY_BASE and heavy is not None:
            base = entry if isinstance(entry, Mapping) else {"action": entry}
            action = _action(heavy.get("action")) or _action(base.get("action"))
            scope = _rule_scope(heavy) or _rule_scope(base)
            rules.append(
                Rule(category.value, action=action, scope=scope, allow=_strings(heavy.get("allow")))
            )
            continue
        if category.value not in findings:
            continue
        if isinstance(entry, str):
            rules.append(Rule(category.value, action=Action(entry)))
        else:
            body = entry or {}
            rules.append(
                Rule(category.value, action=_action(body.get("action")), scope=_rule_scope(body))
            )
    return tuple(rules)
