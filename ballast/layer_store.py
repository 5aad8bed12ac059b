"""Layer facts by layer digest: from the cache, or streamed from the registry once.

A base layer shared by a hundred images is read once: its facts are stored
under ``layer:<digest>`` and every image view is combined from stored facts
without reading a byte of the layer again. Combined image reports are kept
in a small in-process LRU keyed by manifest digest, so the webhook's
``cached_report`` is a dictionary lookup after the first combine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from ballast._errors import LayerError
from ballast.cache import FactsCache
from ballast.facts import ImageFacts, LayerInfo
from ballast.layers import (
    DEFAULT_LIMITS,
    ChunkSource,
    ImageLayerReport,
    LayerFacts,
    LayerLimits,
    combine,
    dump_facts,
    load_facts,
    read_layer,
)
from ballast.reference import Reference
from ballast.registry.client import RegistryClient

logger = logging.getLogger(__name__)

LayerProgress = Callable[[int, LayerFacts], None]
_KEY = "layer:"
_MISSING_TTL_S = 10.0
"""How long "not all layers are stored" is trusted before the store is asked again."""
_MISSING_KEPT = 10_000


class LayerStore:
    """Reads, remembers and combines layer facts; thread-safe, one read per digest."""

    def __init__(
        self,
        client: RegistryClient,
        cache: FactsCache,
        *,
        limits: LayerLimits = DEFAULT_LIMITS,
        reports_kept: int = 256,
    ) -> None:
        self._client = client
        self._cache = cache
        self._limits = limits
        self._reports: OrderedDict[str, ImageLayerReport] = OrderedDict()
        self._reports_kept = reports_kept
        self._inflight: dict[str, Future[LayerFacts]] = {}
        self._missing: dict[str, float] = {}
        self._lock = threading.Lock()

    def cached_layer(self, digest: str) -> LayerFacts | None:
        """Stored facts of one layer, or None (also for unreadable old entries)."""
        raw = self._cache.blob(_KEY + digest)
        if raw is None:
            return None
        try:
            return load_facts(raw)
        except LayerError:
            logger.info("stored facts of layer %s are unreadable; it will be read again", digest)
            return None

    def put_layer(self, facts: LayerFacts) -> None:
        if facts.digest:
            self._cache.put_blob(_KEY + facts.digest, dump_facts(facts))

    def cached_report(self, facts: ImageFacts) -> ImageLayerReport | None:
        """The image's layer report if every layer is stored; never touches the network."""
        now = time.monotonic()
        with self._lock:
            report = self._reports.get(facts.digest)
            if report is not None:
                self._reports.move_to_end(facts.digest)
                return report
            if self._missing.get(facts.digest, 0.0) > now:
                return None  # asked a moment ago: no store round trips on the hot path
        layers = [self.cached_layer(layer.digest) for layer in facts.layers]
        if any(layer is None for layer in layers):
            with self._lock:
                if len(self._missing) > _MISSING_KEPT:
                    self._missing.clear()
                self._missing[facts.digest] = now + _MISSING_TTL_S
            return None
        return self._remember(facts, [layer for layer in layers if layer is not None])

    def report(
        self,
        ref: Reference,
        facts: ImageFacts,
        *,
        on_layer: LayerProgress | None = None,
        max_workers: int = 4,
    ) -> ImageLayerReport:
        """The image's layer report, reading the layers not yet stored from the registry.

        Layers are streamed in parallel (bounded), each digest-checked as it
        is read; raises RegistryError or LayerError for a layer that cannot be
        read safely.
        """
        cached = self.cached_report(facts)
        if cached is not None:
            return cached  # nothing to download, so no progress to show
        results: list[LayerFacts | None] = [None] * len(facts.layers)
        missing: list[int] = []
        for index, layer in enumerate(facts.layers):
            stored = self.cached_layer(layer.digest)
            if stored is None:
                missing.append(index)
            else:
                results[index] = stored
                if on_layer is not None:
                    on_layer(index, stored)
        if missing:
            with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(missing)))) as pool:
                futures = {i: pool.submit(self._read_once, ref, facts.layers[i]) for i in missing}
                for index, future in futures.items():
                    results[index] = future.result()
                    if on_layer is not None:
                        on_layer(index, future.result())
        return self._remember(facts, [r for r in results if r is not None])

    def _remember(self, facts: ImageFacts, layers: Sequence[LayerFacts]) -> ImageLayerReport:
        report = combine(layers, [layer.created_by for layer in facts.layers])
        with self._lock:
            self._missing.pop(facts.digest, None)
            self._reports[facts.digest] = report
            while len(self._reports) > self._reports_kept:
                self._reports.popitem(last=False)
        return report

    def _read_once(self, ref: Reference, layer: LayerInfo) -> LayerFacts:
        """Read one layer, sharing the read with any concurrent caller for the same digest."""
        with self._lock:
            future = self._inflight.get(layer.digest)
            leader = future is None
            if future is None:
                future = Future()
                self._inflight[layer.digest] = future
        if not leader:
            return future.result()
        try:
            stored = self.cached_layer(layer.digest)
            if stored is None:
                stored = self._read(ref, layer)
                self.put_layer(stored)
            future.set_result(stored)
            return stored
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._inflight.pop(layer.digest, None)

    def _read(self, ref: Reference, layer: LayerInfo) -> LayerFacts:
        with self._client.stream_blob(ref, layer.digest) as chunks:
            return read_layer(
                ChunkSource(chunks),
                digest=layer.digest,
                media_type=layer.media_type,
                expected_size=layer.compressed_bytes,
                limits=self._limits,
            )
