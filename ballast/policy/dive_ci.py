"""dive's CI rule file (``.dive-ci``) read as an equivalent :class:`Policy`.

Owns :func:`load_dive_ci`, so teams can switch from ``dive --ci`` to
``ballast check`` without rewriting thresholds. dive's rules map onto
ballast's, with dive's exact comparisons (github.com/wagoodman/dive
``runtime/ci/rule.go``):

============================  ==========================  =====================
dive                          ballast                     fails when
============================  ==========================  =====================
``lowestEfficiency``          ``minEfficiency``           efficiency < limit
``highestWastedBytes``        ``maxWastedBytes``          wastedBytes > limit
``highestUserWastedPercent``  ``maxUserWastedPercent``    userWastedPercent > limit
============================  ==========================  =====================

Both spellings dive has used are read: the ``.dive-ci`` camelCase keys and
the ``.dive.yaml`` ``lowest-efficiency-threshold`` / ``highest-wasted-bytes``
/ ``highest-user-wasted-percent`` keys. Sizes are parsed as go-humanize
does (``20MB`` = 20,000,000, ``20MiB`` = 20,971,520, ``20Mb`` = 20,000,000).
``disabled``, ``off``, ``false`` or an empty value turn a rule off; a
missing rule gets dive's default (0.9, disabled, 0.1). Every rule is
``enforce``: a failing rule fails the check, as it fails ``dive --ci``.
Imports PyYAML. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import yaml

from ballast._errors import PolicyError
from ballast.policy.document import Policy, Rule, Scope
from ballast.policy.load import make_yaml_loader
from ballast.policy.outcome import Action, Verdict
from ballast.policy.size import parse_size

DIVE_DEFAULTS: Final = {
    "lowestEfficiency": "0.9",
    "highestWastedBytes": "disabled",
    "highestUserWastedPercent": "0.1",
}
"""dive's defaults when a rule is not given (``cmd/dive/cli/internal/options/ci_rules.go``)."""
_KEYS: Final = {
    "lowestEfficiency": "lowestEfficiency",
    "lowest-efficiency": "lowestEfficiency",
    "lowest-efficiency-threshold": "lowestEfficiency",
    "highestWastedBytes": "highestWastedBytes",
    "highest-wasted-bytes": "highestWastedBytes",
    "highestUserWastedPercent": "highestUserWastedPercent",
    "highest-user-wasted-percent": "highestUserWastedPercent",
}
_RULE_IDS: Final = {
    "lowestEfficiency": "minEfficiency",
    "highestWastedBytes": "maxWastedBytes",
    "highestUserWastedPercent": "maxUserWastedPercent",
}
_DISABLED: Final = frozenset({"disabled", "off", "false", ""})


def _text(value: object) -> str:
    """The value as dive sees it: YAML's ``off``/``false`` booleans and nulls become text."""
    if value is None:
        return ""
    if value is False:
        return "false"
    return str(value).strip()


def load_dive_ci(text: str, *, source: str = ".dive-ci") -> Policy:
    """Read a ``.dive-ci`` (or ``.dive.yaml``) document as a Policy.

    Raises :class:`PolicyError` listing every value that is not a number or a
    size. Keys dive does not know (plugins, ``plugin/rule``) are listed in
    ``Policy.notes``, not refused, since dive does not refuse them either.
    """
    problems: list[str] = []
    try:
        document = yaml.load(text, Loader=make_yaml_loader(problems))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise PolicyError(
            f"dive CI rules {source} are not valid YAML",
            problems=[f"{where}{getattr(exc, 'problem', None) or exc}"],
        ) from exc
    if document is None:
        document = {}
    if not isinstance(document, Mapping):
        raise PolicyError(
            f"dive CI rules {source} must be a mapping with a rules key",
            problems=["(document): expected a mapping with a rules key"],
        )
    notes: list[str] = []
    for key in document:
        if key not in ("rules", "ci", "plugins"):
            notes.append(f"ignored key {key!r} (not a dive CI setting)")
    if document.get("plugins"):
        notes.append("dive plugins are not supported; their rules are ignored")
    rules_doc: Any = document.get("rules") or {}
    if not isinstance(rules_doc, Mapping):
        raise PolicyError(
            f"dive CI rules {source} are invalid",
            problems=["rules: expected a mapping of rule names to thresholds"],
        )
    given: dict[str, tuple[str, object]] = {}
    for key, value in rules_doc.items():
        name = _KEYS.get(str(key))
        if name is None:
            notes.append(f"ignored unknown rule {key!r}")
            continue
        given[name] = (str(key), value)
    rules: list[Rule] = []
    for name, default in DIVE_DEFAULTS.items():
        key, raw = given.get(name, (name, default))
        value = _text(raw)
        if value.lower() in _DISABLED:
            continue
        try:
            limit: float = parse_size(value) if name == "highestWastedBytes" else float(value)
        except ValueError:
            kind = "a size (20MB, 20MiB or bytes)" if name == "highestWastedBytes" else "a number"
            problems.append(f"rules.{key}: {raw!r} is not {kind}, nor disabled")
            continue
        rules.append(Rule(_RULE_IDS[name], action=Action.ENFORCE, limit=limit))
    if rules:
        notes.append("dive's rules need layer facts: they are skipped unless the layers are read")
    if problems:
        count = len(problems)
        raise PolicyError(
            f"dive CI rules {source} are invalid ({count} problem{'s' if count > 1 else ''}):\n"
            + "\n".join(f"  - {p}" for p in problems),
            problems=problems,
        )
    return Policy(
        mode=Action.ENFORCE,
        failure_mode=Verdict.DENY,
        scope=Scope(exempt_namespaces=()),
        rules=tuple(rules),
        name="dive-ci",
        source=source,
        notes=tuple(notes),
    )
