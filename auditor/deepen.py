"""Learn layer facts in the background, within a byte budget per pass.

Manifests say how big an image is; only layers say why (wasted and hidden
bytes, build tools, secrets). Reading layers costs bandwidth, so after each
pass the images whose layer facts are not known yet are read in the
background, biggest pull footprint first, until the pass's budget of
compressed bytes is spent. Layers already known (shared bases) cost nothing.
The next pass judges those images with their layer facts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from auditor.model import AuditSnapshot, ImageRecord
from ballast._errors import BallastError
from ballast.layer_store import LayerStore
from ballast.reference import parse_reference

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeepenPlan:
    """Which images to read layers for this pass, and the bytes that costs."""

    images: tuple[ImageRecord, ...]
    bytes_to_read: int
    skipped_over_budget: int


def plan_layer_reads(
    snapshot: AuditSnapshot, store: LayerStore, *, budget_bytes: int
) -> DeepenPlan:
    """Images without layer facts, biggest pull footprint first, that fit in the budget."""
    candidates: list[tuple[int, ImageRecord, int]] = []
    for record in snapshot.images:
        facts = record.primary
        if record.is_unknown or facts is None or record.layer_report is not None:
            continue
        missing = sum(
            layer.compressed_bytes
            for layer in facts.layers
            if store.cached_layer(layer.digest) is None
        )
        footprint = (record.compressed_bytes or 0) * max(len(record.nodes), 1)
        candidates.append((footprint, record, missing))
    candidates.sort(key=lambda item: -item[0])
    chosen: list[ImageRecord] = []
    spent = 0
    skipped = 0
    for _, record, missing in candidates:
        if spent + missing > budget_bytes:
            skipped += 1
            continue
        chosen.append(record)
        spent += missing
    return DeepenPlan(tuple(chosen), spent, skipped)


class LayerDeepener:
    """Runs layer reads for a plan on a background thread; one plan at a time."""

    def __init__(self, store: LayerStore) -> None:
        self._store = store
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.read_images = 0
        self.failed_images = 0

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, plan: DeepenPlan) -> bool:
        """Start reading in the background; False when the previous plan is still running."""
        if self.busy or not plan.images:
            return False
        self._thread = threading.Thread(
            target=self._run, args=(plan.images,), name="layer-deepener", daemon=True
        )
        self._thread.start()
        return True

    def stop(self) -> None:
        self._stop.set()

    def run_now(self, plan: DeepenPlan) -> None:
        """Read the plan in the calling thread (one-shot audits, tests)."""
        self._run(plan.images)

    def _run(self, images: Sequence[ImageRecord]) -> None:
        for record in images:
            if self._stop.is_set():
                return
            facts = record.primary
            if facts is None or not record.references:
                continue
            try:
                ref = parse_reference(record.references[0])
                if record.digest and not ref.digest:
                    ref = ref.with_digest(record.digest)
                self._store.report(ref, facts)
                self.read_images += 1
            except BallastError as exc:
                self.failed_images += 1
                logger.warning("layer facts of %s not read: %s", record.references[0], exc)
