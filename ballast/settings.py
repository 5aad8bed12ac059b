"""Settings: frozen dataclasses, one group per component, and their loading.

Precedence is CLI flag > ``BALLAST_*`` environment > file > default. The entry
point (CLI) calls :func:`load_settings` once and passes the result down;
library code never reads ``os.environ``. Environment values are parsed as
JSON and fall back to plain strings; ``__`` nests into a group
(``BALLAST_CACHE__TAG_TTL_S=60``). ``BALLAST_INSECURE_REGISTRIES`` is a
comma-separated list, like Docker's ``insecure-registries``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ballast._errors import ConfigError

DEFAULT_CONNECT_TIMEOUT_S = 3.0
DEFAULT_READ_TIMEOUT_S = 15.0
DEFAULT_RETRIES = 2
DEFAULT_TOTAL_TIMEOUT_S = 60.0
DEFAULT_BACKOFF_S = 0.2
DEFAULT_MAX_RETRY_AFTER_S = 10.0
DEFAULT_MAX_REDIRECTS = 3
DEFAULT_MANIFEST_MAX_BYTES = 4 * 1024 * 1024
DEFAULT_CONFIG_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_PLATFORMS = ("linux/amd64",)
DEFAULT_TAG_TTL_S = 300.0
DEFAULT_NEGATIVE_TTL_S = 30.0
DEFAULT_LRU_ENTRIES = 8192
DEFAULT_WEBHOOK_BIND = "127.0.0.1:8443"
DEFAULT_WEBHOOK_TIMEOUT_S = 10.0
DEFAULT_WEBHOOK_MARGIN_S = 0.5
DEFAULT_AUDIT_SCHEDULE = "300s"
DEFAULT_AUDITOR_BIND = "127.0.0.1:9464"
DEFAULT_LAYER_BUDGET_BYTES = 2 * 1000**3
ENV_PREFIX = "BALLAST_"

_T = TypeVar("_T")
_GROUPS = ("registry", "cache", "webhook", "auditor")


@dataclass(frozen=True, slots=True)
class RegistryHostSettings:
    """Settings for one registry host, from the registries config file."""

    ca_bundle: str | None = None
    """PEM file of CAs to trust for this registry, instead of the system store."""
    username: str | None = None
    password: str | None = None
    """Credentials; prefer an auth file or an imagePullSecret over putting them here."""
    mirror: str | None = None
    """Host to fetch from instead (pull-through cache); facts are keyed by digest so stay valid."""


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    """How ballast talks to registries."""

    insecure_registries: tuple[str, ...] = ()
    """``host[:port]`` reached over plain HTTP and allowed even on loopback/private addresses."""
    allowed_private_registries: tuple[str, ...] = ()
    """``host[:port]`` allowed on private/loopback addresses over HTTPS (in-cluster registries)."""
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    """Seconds to establish a TCP/TLS connection."""
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    """Seconds to wait for each read on an open connection."""
    total_timeout_s: float = DEFAULT_TOTAL_TIMEOUT_S
    """Seconds one request may take end to end, body included (a trickling server is cut off)."""
    retries: int = DEFAULT_RETRIES
    """Extra attempts after a 5xx or a connection error (exponential backoff)."""
    backoff_s: float = DEFAULT_BACKOFF_S
    """First backoff delay; doubles per attempt, with jitter."""
    max_retry_after_s: float = DEFAULT_MAX_RETRY_AFTER_S
    """Longest ``Retry-After`` honoured on a 429; longer waits fail as rate limited."""
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    """Redirects followed per request (blob storage redirects once)."""
    manifest_max_bytes: int = DEFAULT_MANIFEST_MAX_BYTES
    """Manifests and indexes above this are refused (the distribution spec's 4 MiB)."""
    config_max_bytes: int = DEFAULT_CONFIG_MAX_BYTES
    """Image config blobs above this are refused (history of thousands of steps fits)."""
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    """Connection pool size shared by all registries."""
    platforms: tuple[str, ...] = DEFAULT_PLATFORMS
    """Platforms chosen from a multi-arch index; ``all`` means every platform."""
    auth_file: str | None = None
    """Docker ``config.json`` with credentials (``auths``); default ``~/.docker/config.json``."""
    hosts: Mapping[str, RegistryHostSettings] = field(default_factory=dict)
    """Per-registry settings (CA bundle, credentials, mirror) keyed by ``host[:port]``."""


@dataclass(frozen=True, slots=True)
class CacheSettings:
    """Where facts are remembered and for how long."""

    path: str = ""
    """SQLite file; empty means ``$XDG_CACHE_HOME/ballast/facts.db``; ``:memory:`` keeps nothing."""
    url: str = ""
    """Shared cache for several replicas: ``redis://HOST:PORT/DB``, ``rediss://…`` (TLS) or
    ``unix:///PATH.sock?db=N``. The local store at ``path`` stays in front of it and serves
    alone while Redis is down. Empty: no shared cache."""
    tag_ttl_s: float = DEFAULT_TAG_TTL_S
    """Seconds a tag → digest answer is trusted before it is revalidated with one HEAD."""
    negative_ttl_s: float = DEFAULT_NEGATIVE_TTL_S
    """Seconds a registry error is remembered so a broken registry is not hammered."""
    lru_entries: int = DEFAULT_LRU_ENTRIES
    """Decoded facts kept in process memory in front of the store."""

    def resolved_path(self, environ: Mapping[str, str]) -> str:
        """The SQLite path to open, following XDG when none is configured."""
        if self.path:
            return self.path
        base = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME", "/tmp")) / ".cache")
        return str(Path(base) / "ballast" / "facts.db")


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """How the admission webhook serves and how long it may wait."""

    bind: str = DEFAULT_WEBHOOK_BIND
    """``HOST:PORT`` to listen on (TLS)."""
    cert: str = ""
    """PEM certificate chain; reloaded when the file changes (cert-manager rotation)."""
    key: str = ""
    """PEM private key of ``cert``."""
    policy: str = ""
    """Policy YAML file; empty means the built-in defaults."""
    default_timeout_s: float = DEFAULT_WEBHOOK_TIMEOUT_S
    """Deadline when the API server sends no ``?timeout=`` (its default is 10 s)."""
    margin_s: float = DEFAULT_WEBHOOK_MARGIN_S
    """Seconds kept back from the deadline for judging and answering."""
    workers: int = 2
    """gunicorn worker processes."""
    threads: int = 8
    """Threads per worker (concurrent admissions per process)."""
    fetch_workers: int = 32
    """Registry lookups in flight per worker process."""
    max_body_bytes: int = 3 * 1024 * 1024
    """Largest AdmissionReview accepted; etcd objects are at most about 1.5 MiB."""


@dataclass(frozen=True, slots=True)
class AuditorSettings:
    """What the auditor scans, how often, and where its results go."""

    schedule: str = DEFAULT_AUDIT_SCHEDULE
    """Interval (``300s``, ``5m``) or cron expression (``*/15 * * * *``, UTC) between passes."""
    metrics_bind: str = DEFAULT_AUDITOR_BIND
    """``HOST:PORT`` serving /metrics, /healthz and /readyz."""
    pods_file: str = ""
    """A ``kubectl get pods -A -o json`` file (``-`` for stdin) instead of the cluster."""
    kubeconfig: str = ""
    """kubeconfig path; empty means in-cluster config, else ``$KUBECONFIG`` / ``~/.kube/config``."""
    context: str = ""
    """kubeconfig context; empty means the current one."""
    namespaces: tuple[str, ...] = ()
    """Namespaces to scan; empty means all."""
    policy: str = ""
    """Policy YAML file (the webhook's); empty means the built-in defaults."""
    output_dir: str = ""
    """Directory for timestamped reports after every pass; empty writes none."""
    formats: tuple[str, ...] = ("json", "markdown", "csv", "html")
    """Report formats written to ``output_dir``."""
    configmap: str = ""
    """Also publish the JSON and Markdown reports in this ConfigMap (needs create/update)."""
    configmap_namespace: str = "ballast"
    """Namespace of ``configmap``."""
    max_workers: int = 16
    """Registry lookups in flight during a pass."""
    page_size: int = 500
    """Pods per list request (``limit``)."""
    layer_budget_bytes: int = DEFAULT_LAYER_BUDGET_BYTES
    """Compressed layer bytes read per pass, in the background, to learn layer facts."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable, grouped by component (see _GROUPS)."""

    registry: RegistrySettings = field(default_factory=RegistrySettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    auditor: AuditorSettings = field(default_factory=AuditorSettings)


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    config_file: str | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Build Settings from defaults, a YAML file, the environment and CLI overrides.

    Raises ConfigError naming the variable or key that is wrong and what it should be.
    """
    env = dict(os.environ if environ is None else environ)
    layers: dict[str, dict[str, Any]] = {group: {} for group in _GROUPS}
    file_path = config_file or env.get(ENV_PREFIX + "CONFIG")
    if file_path:
        _merge(layers, _read_config_file(file_path))
    _merge(layers, _from_environ(env))
    if overrides:
        _merge(layers, {k: dict(v) for k, v in overrides.items()})
    return Settings(
        registry=_build(RegistrySettings, layers["registry"], "registry"),
        cache=_build(CacheSettings, layers["cache"], "cache"),
        webhook=_build(WebhookSettings, layers["webhook"], "webhook"),
        auditor=_build(AuditorSettings, layers["auditor"], "auditor"),
    )


def _read_config_file(path: str) -> dict[str, dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must be a mapping with 'registry' and 'cache' keys")
    unknown = set(data) - set(_GROUPS)
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown section(s) {sorted(unknown)}; "
            f"expected {', '.join(_GROUPS)}"
        )
    return {k: dict(v or {}) for k, v in data.items()}


def _from_environ(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {group: {} for group in _GROUPS}
    if ENV_PREFIX + "INSECURE_REGISTRIES" in env:
        hosts = env[ENV_PREFIX + "INSECURE_REGISTRIES"]
        result["registry"]["insecure_registries"] = [h.strip() for h in hosts.split(",") if h]
    if ENV_PREFIX + "PLATFORM" in env:
        result["registry"]["platforms"] = env[ENV_PREFIX + "PLATFORM"].split(",")
    if ENV_PREFIX + "REGISTRY_AUTH_FILE" in env:
        result["registry"]["auth_file"] = env[ENV_PREFIX + "REGISTRY_AUTH_FILE"]
    if ENV_PREFIX + "CACHE_PATH" in env:
        result["cache"]["path"] = env[ENV_PREFIX + "CACHE_PATH"]
    for key, raw in env.items():
        if not key.startswith(ENV_PREFIX) or "__" not in key:
            continue
        group, _, name = key[len(ENV_PREFIX) :].lower().partition("__")
        if group not in result:
            raise ConfigError(
                f"{key}: unknown settings group {group!r}; use "
                + " or ".join(g.upper() for g in _GROUPS)
            )
        try:
            result[group][name] = json.loads(raw)
        except ValueError:
            result[group][name] = raw
    return result


def _merge(into: dict[str, dict[str, Any]], new: Mapping[str, Mapping[str, Any]]) -> None:
    for group, values in new.items():
        into.setdefault(group, {}).update(values)


def _build(cls: type[_T], values: Mapping[str, Any], group: str) -> _T:
    known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown {group} setting(s) {unknown}; known: {', '.join(sorted(known))}"
        )
    kwargs: dict[str, Any] = {}
    for name, raw in values.items():
        default = getattr(cls(), name)
        kwargs[name] = _coerce(raw, default, f"{group}.{name}")
    return cls(**kwargs)


def _coerce(raw: Any, default: Any, where: str) -> Any:
    if isinstance(default, tuple):
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, list | tuple):
            raise ConfigError(f"{where} must be a list or a comma-separated string")
        return tuple(str(i).strip() for i in items if str(i).strip())
    if isinstance(default, Mapping):
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where} must be a mapping of host to settings")
        hosts: dict[str, RegistryHostSettings] = {}
        for host, conf in raw.items():
            try:
                hosts[str(host)] = RegistryHostSettings(**(conf or {}))
            except TypeError as exc:
                raise ConfigError(f"{where}.{host}: {exc}") from exc
        return hosts
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in {"1", "true", "yes", "on"}:
            return True
        if str(raw).lower() in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{where} must be true or false, not {raw!r}")
    if isinstance(default, int | float):
        try:
            number = float(raw) if isinstance(default, float) else int(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where} must be a number, not {raw!r}") from exc
        if number < 0:
            raise ConfigError(f"{where} must not be negative, got {raw!r}")
        return number
    if default is None or isinstance(default, str):
        return None if raw is None else str(raw)
    raise ConfigError(f"{where}: unsupported value {raw!r}")
