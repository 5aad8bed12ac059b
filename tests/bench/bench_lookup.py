"""Benchmark: ballast image lookups against a real local registry, next to skopeo.

Run from the repository root::

    .venv/bin/python tests/bench/bench_lookup.py [--images 200]

It starts Debian's ``docker-registry`` behind the counting proxy of ``tests/support``,
pushes N small distinct images, and measures:

- ballast cold: fresh SQLite cache, services built the way the CLI builds them, all
  references resolved at once with ``lookup.resolve_many(refs, max_workers=16)``;
- skopeo: ``skopeo inspect --tls-verify=false docker://HOST/REPO:TAG`` once per image, one
  after the other, as a CI shell loop would;
- ballast warm (LRU): the same references again on the same services, many rounds;
- ballast warm (SQLite): new services on the same SQLite file (a new process: cold LRU,
  warm disk), within the tag TTL;
- ballast cold without the proxy (uncounted), to show what the proxy itself costs.

The registry and its proxy run in a child process by default: the proxy is Python, and in
the benchmark's own process it would hold the GIL that ballast's worker threads need (a
cost no production deployment has, and one skopeo, a separate process, does not pay).
``--registry-in-process`` runs them in this process instead, for comparison.

Requests are counted by the proxy. The script prints a table and whether the targets are
met (cold ≥ 5× faster than sequential skopeo; warm < 50 µs per lookup in-process). It
prints, it does not assert: the exit status is 0 unless something failed.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.bench.child_registry import ChildRegistry, scratch_dir  # noqa: E402
from tests.support.images import push_image  # noqa: E402
from tests.support.registry import LocalRegistry, start_registry  # noqa: E402

if TYPE_CHECKING:
    from ballast.services import Services

COLD_SPEEDUP_TARGET = 5.0
"""ballast cold (concurrent) must be at least this many times faster than skopeo one by one."""
WARM_TARGET_US = 50.0
"""An in-process warm lookup (LRU hit) must take less than this, in microseconds."""
TAG = "v1"


@dataclass(frozen=True, slots=True)
class BenchImage:
    """One pushed image: where it is and the digest every tool must report."""

    host: str
    repo: str
    tag: str
    digest: str

    @property
    def ref(self) -> str:
        return f"{self.host}/{self.repo}:{self.tag}"


@dataclass(frozen=True, slots=True)
class Measurement:
    """One row of the result table."""

    label: str
    wall_s: float
    lookups: int
    requests: int | None
    """Requests the proxy saw; None when the row bypassed the proxy."""
    breakdown: dict[str, int]

    @property
    def per_lookup_s(self) -> float:
        return self.wall_s / self.lookups


# -- the registry, here or in a child process -------------------------------------------------


class Registry(Protocol):
    """What the benchmark needs from a LocalRegistry, wherever it runs."""

    @property
    def host(self) -> str: ...

    @property
    def registry_host(self) -> str: ...

    @property
    def requests(self) -> list[tuple[str, str, int]]: ...

    def count(self) -> int: ...

    def reset_counts(self) -> None: ...


def push_images(reg: LocalRegistry, count: int, workers: int) -> list[BenchImage]:
    """``count`` distinct images ``bench/appN:v1``, each with two random layers of a few KB."""

    def push(i: int) -> BenchImage:
        sizes = [2048 + (i % 7) * 512, 4096 + (i % 5) * 1024]
        pushed = push_image(reg, f"bench/app{i}", TAG, layer_sizes=sizes)
        return BenchImage(reg.host, pushed.repo, TAG, pushed.digest)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(push, range(count)))


# -- helpers ----------------------------------------------------------------------------------


def classify(method: str, path: str) -> str:
    """A short name for a registry request, for the per-kind breakdown."""
    path = path.split("?", 1)[0]
    if path in ("/v2/", "/v2"):
        kind = "/v2/ ping"
    elif "/manifests/" in path:
        kind = "manifest"
    elif "/blobs/" in path:
        kind = "blob"
    elif path.endswith("/tags/list"):
        kind = "tags/list"
    else:
        kind = "other"
    return f"{method} {kind}"


def counted(reg: Registry) -> tuple[int, dict[str, int]]:
    """Requests the proxy saw since the last reset, in total and by kind."""
    requests = reg.requests
    kinds = collections.Counter(classify(method, path) for method, path, _ in requests)
    return len(requests), dict(sorted(kinds.items()))


def open_ballast(environ: dict[str, str]) -> Services:
    """Settings and services exactly as ``ballast.cli`` builds them."""
    from ballast.services import open_services
    from ballast.settings import load_settings

    return open_services(load_settings(environ), environ)


def ballast_environ(insecure_host: str, cache_path: Path, home: Path) -> dict[str, str]:
    return {
        "BALLAST_INSECURE_REGISTRIES": insecure_host,
        "BALLAST_CACHE_PATH": str(cache_path),
        "HOME": str(home),
    }


def count_wrong(results: Sequence[object], images: Sequence[BenchImage], label: str) -> int:
    """Lookups that failed or returned another digest than the one pushed (first few shown)."""
    from ballast.facts import ResolvedImage

    bad = 0
    for image, result in zip(images, results, strict=True):
        if not isinstance(result, ResolvedImage):
            problem = f"{type(result).__name__}: {result}"
        elif result.digest != image.digest:
            problem = f"digest {result.digest}, pushed {image.digest}"
        else:
            continue
        bad += 1
        if bad <= 5:
            print(f"  ! {label}: {image.ref}: {problem}", file=sys.stderr)
    return bad


def time_rounds(run: Callable[[], object], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return times


def skopeo_sequential(images: Sequence[BenchImage]) -> tuple[float, int]:
    """``skopeo inspect`` once per image, one after the other; returns (wall, failures)."""
    failures = 0
    started = time.perf_counter()
    for image in images:
        proc = subprocess.run(
            ["skopeo", "inspect", "--tls-verify=false", f"docker://{image.ref}"],
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0 or image.digest.encode() not in proc.stdout:
            failures += 1
            if failures <= 5:
                err = proc.stderr.decode(errors="replace").strip()
                print(f"  ! skopeo: {image.ref}: rc={proc.returncode} {err}", file=sys.stderr)
    return time.perf_counter() - started, failures


# -- report -----------------------------------------------------------------------------------


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:7.2f} s "
    if seconds >= 1e-3:
        return f"{seconds * 1e3:7.2f} ms"
    return f"{seconds * 1e6:7.2f} µs"


def print_table(rows: Sequence[Measurement]) -> None:
    header = f"{'':41} {'wall':>10} {'lookups':>7} {'per image':>10} {'req/image':>9}"
    print(header)
    print("-" * len(header))
    for row in rows:
        per_image = "–" if row.requests is None else f"{row.requests / row.lookups:.2f}"
        print(
            f"{row.label:41} {fmt_time(row.wall_s):>10} {row.lookups:7d} "
            f"{fmt_time(row.per_lookup_s):>10} {per_image:>9}"
        )
    print()
    print("requests by kind (totals):")
    for row in rows:
        if row.requests is None:
            shown = "not counted (no proxy)"
        else:
            shown = ", ".join(f"{k} {v}" for k, v in row.breakdown.items()) or "none"
        print(f"  {row.label:41} {shown}")


# -- the benchmark ----------------------------------------------------------------------------


def run(args: argparse.Namespace, reg: Registry, images: Sequence[BenchImage], tmp: Path) -> int:
    refs = [image.ref for image in images]
    home = tmp / "home"
    home.mkdir()
    cache_path = tmp / "cache" / "facts.db"
    environ = ballast_environ(reg.host, cache_path, home)
    rows: list[Measurement] = []
    failures = 0

    # 1. ballast cold: services as the CLI builds them, one concurrent batch.
    started = time.perf_counter()
    import ballast.services  # noqa: F401  (timed apart: every CLI run pays it once)

    import_s = time.perf_counter() - started
    reg.reset_counts()
    started = time.perf_counter()
    services = open_ballast(environ)
    setup_s = time.perf_counter() - started
    results = services.lookup.resolve_many(refs, max_workers=args.workers)
    cold_s = time.perf_counter() - started
    failures += count_wrong(results, images, "ballast cold")
    rows.append(
        Measurement(f"ballast cold ({args.workers} workers)", cold_s, len(refs), *counted(reg))
    )

    # 2. skopeo, one image after the other.
    skopeo_s = None
    if not args.skip_skopeo:
        reg.reset_counts()
        skopeo_s, skopeo_failures = skopeo_sequential(images)
        failures += skopeo_failures
        rows.append(Measurement("skopeo inspect, sequential", skopeo_s, len(refs), *counted(reg)))

    # 3. ballast warm on the same services: every answer is in the LRU.
    reg.reset_counts()
    resolve = services.lookup.resolve

    def warm_pass() -> None:
        for ref in refs:
            resolve(ref)

    warm_pass()
    warm_times = time_rounds(warm_pass, args.warm_rounds)
    results = services.lookup.resolve_many(refs, max_workers=args.workers)
    failures += count_wrong(results, images, "ballast warm")
    rows.append(
        Measurement(
            f"ballast warm, LRU (best of {args.warm_rounds})",
            min(warm_times),
            len(refs),
            *counted(reg),
        )
    )
    reg.reset_counts()
    batch_rounds = max(args.warm_rounds // 5, 1)
    batch_times = time_rounds(
        lambda: services.lookup.resolve_many(refs, max_workers=args.workers), batch_rounds
    )
    rows.append(
        Measurement(
            f"ballast warm, LRU, resolve_many (med {batch_rounds})",
            statistics.median(batch_times),
            len(refs),
            *counted(reg),
        )
    )
    services.close()

    # 4. ballast warm from SQLite alone: new services on the same file, as a new process.
    reg.reset_counts()
    sqlite_times = []
    for _ in range(args.sqlite_rounds):
        fresh = open_ballast(environ)
        try:
            started = time.perf_counter()
            results = [fresh.lookup.resolve(ref) for ref in refs]
            sqlite_times.append(time.perf_counter() - started)
        finally:
            fresh.close()
        failures += count_wrong(results, images, "ballast warm (SQLite)")
    rows.append(
        Measurement(
            f"ballast warm, SQLite (median of {args.sqlite_rounds})",
            statistics.median(sqlite_times),
            len(refs),
            *counted(reg),
        )
    )

    # 5. ballast cold straight at the registry: what the proxy costs (not counted).
    if not args.skip_direct:
        direct = [BenchImage(reg.registry_host, i.repo, i.tag, i.digest) for i in images]
        direct_env = ballast_environ(reg.registry_host, tmp / "cache" / "direct.db", home)
        started = time.perf_counter()
        direct_services = open_ballast(direct_env)
        try:
            results = direct_services.lookup.resolve_many(
                [i.ref for i in direct], max_workers=args.workers
            )
        finally:
            direct_services.close()
        direct_s = time.perf_counter() - started
        failures += count_wrong(results, direct, "ballast cold direct")
        rows.append(Measurement("ballast cold, no proxy", direct_s, len(refs), None, {}))

    print_table(rows)
    print()
    warm_us = min(warm_times) / len(refs) * 1e6
    print(
        f"ballast cold includes open_services ({setup_s * 1e3:.1f} ms); the first "
        f"`import ballast.services` ({import_s * 1e3:.0f} ms) is not included."
    )
    print(
        f"ballast warm LRU: best {warm_us:.1f} µs, median "
        f"{statistics.median(warm_times) / len(refs) * 1e6:.1f} µs per lookup "
        f"over {args.warm_rounds} rounds of {len(refs)}."
    )
    print()
    if skopeo_s is not None:
        ratio = skopeo_s / cold_s
        verdict = "met" if ratio >= COLD_SPEEDUP_TARGET else "MISSED"
        print(
            f"target cold:  skopeo / ballast cold = {ratio:.1f}× (≥ {COLD_SPEEDUP_TARGET:.0f}×: "
            f"{verdict}; {skopeo_s / len(refs) * 1e3:.1f} ms vs "
            f"{cold_s / len(refs) * 1e3:.1f} ms per image)"
        )
    verdict = "met" if warm_us < WARM_TARGET_US else "MISSED"
    print(
        f"target warm:  {warm_us:.1f} µs per in-process lookup "
        f"(< {WARM_TARGET_US:.0f} µs: {verdict})"
    )
    if failures:
        print(f"\n{failures} lookups failed or returned the wrong digest", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="ballast lookups against a local registry, next to skopeo inspect."
    )
    parser.add_argument("--images", type=int, default=200, help="images to push (200)")
    parser.add_argument("--workers", type=int, default=16, help="resolve_many workers (16)")
    parser.add_argument("--warm-rounds", type=int, default=50, help="warm LRU rounds (50)")
    parser.add_argument("--sqlite-rounds", type=int, default=5, help="SQLite-only rounds (5)")
    parser.add_argument("--push-workers", type=int, default=8, help="parallel pushes (8)")
    parser.add_argument("--skip-skopeo", action="store_true", help="no skopeo baseline")
    parser.add_argument("--skip-direct", action="store_true", help="no proxy-less cold row")
    parser.add_argument(
        "--registry-in-process",
        action="store_true",
        help="run the registry's Python proxy in this process (it then competes for the GIL)",
    )
    args = parser.parse_args(argv)
    if args.images < 1 or args.warm_rounds < 1 or args.sqlite_rounds < 1 or args.workers < 1:
        parser.error("--images, --workers and the round counts must be at least 1")
    if not args.skip_skopeo and shutil.which("skopeo") is None:
        parser.error("skopeo is not installed: tests/run installs it, or pass --skip-skopeo")

    tmp = scratch_dir("ballast-bench-")
    try:
        started = time.perf_counter()
        if args.registry_in_process:
            with start_registry(tmp / "registry") as local:
                images = push_images(local, args.images, args.push_workers)
                announce(local, images, time.perf_counter() - started, tmp, "this process")
                return run(args, local, images, tmp)
        child = ChildRegistry(tmp / "registry", push_images, args.images, args.push_workers)
        try:
            announce(child, child.populated, time.perf_counter() - started, tmp, "a child process")
            return run(args, child, child.populated, tmp)
        finally:
            child.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def announce(
    reg: Registry, images: Sequence[BenchImage], pushed_s: float, tmp: Path, where: str
) -> None:
    print(
        f"registry {reg.registry_host} behind proxy {reg.host}, in {where}; "
        f"{len(images)} images pushed in {pushed_s:.1f} s; scratch {tmp}; {os.cpu_count()} CPUs"
    )
    print()


if __name__ == "__main__":
    sys.exit(main())
