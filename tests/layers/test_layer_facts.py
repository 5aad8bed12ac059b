"""Layer facts are cacheable by digest and recombine into the same image view."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ballast import LayerError
from ballast.layers import (
    LayerFacts,
    combine,
    dump_facts,
    facts_from_json,
    facts_to_json,
    load_facts,
    read_layer,
)
from tests.layers.layerkit import DPKG_STATUS, compress, directory, file, tar_bytes, whiteout

KEY = b"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


def sample_layers() -> list[LayerFacts]:
    layers = [
        [directory("usr/bin"), file("usr/bin/gcc", 1000), file("var/lib/dpkg/status", DPKG_STATUS)],
        [
            file("app/.env", b"A=1\n"),
            file("app/package.json", b'{"devDependencies": {"jest": "1"}}'),
        ],
        [whiteout("usr/bin/gcc"), file("root/key.pem", KEY), file("caf\u00e9/\u00fcml\u00e4ut", 3)],
    ]
    return [read_layer(io.BytesIO(compress(tar_bytes(layer), "gzip"))) for layer in layers]


def test_facts_survive_json_and_bytes_round_trips() -> None:
    for facts in sample_layers():
        assert facts_from_json(json.loads(json.dumps(facts_to_json(facts)))) == facts
        assert load_facts(dump_facts(facts)) == facts


def test_the_image_view_recombines_from_cached_facts_without_reading() -> None:
    layers = sample_layers()
    cached = [load_facts(dump_facts(facts)) for facts in layers]
    assert combine(cached, ["a", "b", "c"]) == combine(layers, ["a", "b", "c"])


def test_a_50k_file_layer_stores_compactly() -> None:
    entries = [directory("usr"), directory("usr/lib")]
    for package in range(500):
        entries.append(directory(f"usr/lib/python3.11/site-packages/package_{package}"))
        entries.extend(
            file(f"usr/lib/python3.11/site-packages/package_{package}/module_{n}.py", 0)
            for n in range(100)
        )
    facts = read_layer(io.BytesIO(tar_bytes(entries)))
    assert facts.entry_count > 50_000
    document = json.dumps(facts_to_json(facts), separators=(",", ":"))
    assert len(document) < 25 * facts.entry_count  # raw paths alone are ~55 bytes each
    assert len(dump_facts(facts)) < 200_000


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(v=99),
        lambda d: d["entries"].update(kinds="q" * len(d["entries"]["kinds"])),
        lambda d: d["entries"]["sizes"].append(1),
        lambda d: d.pop("sizeBytes"),
    ],
)
def test_damaged_stored_facts_are_a_layer_error(damage: object) -> None:
    document = facts_to_json(sample_layers()[0])
    damage(document)  # type: ignore[operator]
    with pytest.raises(LayerError, match="read the layer again"):
        facts_from_json(document)
    with pytest.raises(LayerError):
        load_facts(b"not zlib")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="ab/.-_\u00e9", min_size=1, max_size=12).filter(
                lambda p: p.strip("/") and ".." not in p.split("/")
            ),
            st.integers(0, 10**12),
        ),
        max_size=30,
    )
)
def test_front_coded_paths_round_trip(items: list[tuple[str, int]]) -> None:
    from ballast.layers.entry import clean_path

    paths = tuple(clean_path(p) for p, _ in items)
    facts = LayerFacts(
        digest="sha256:" + "0" * 64,
        diff_id="",
        media_type="",
        compression="none",
        compressed_bytes=0,
        stream_bytes=0,
        size_bytes=sum(s for _, s in items),
        paths=paths,
        sizes=tuple(s for _, s in items),
        kinds="f" * len(items),
    )
    assert load_facts(dump_facts(facts)) == facts
