"""Properties: evaluation never raises, whatever the facts, layer report, context or annotation."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ballast.facts import HistoryEntry, ImageFacts, LayerInfo, Platform
from ballast.policy import (
    EXCEPTION_ANNOTATION,
    Action,
    Context,
    ImageVerdict,
    Policy,
    Rule,
    Verdict,
    decide,
    decision_to_json,
    default_policy,
    deny_message,
    evaluate,
    format_markdown,
    format_text,
    load_policy,
    parse_size,
    warnings_for,
)
from ballast.policy.message import MAX_WARNING_CHARS
from ballast.policy.rules import RULE_SPECS
from tests.policy import histories as h
from tests.policy.conftest import FakeHidden, FakeLayer, FakeLayerFinding, FakeReport, FakeWasted
from tests.policy.test_policy_load import FULL

REAL_CREATED_BY = [
    h.DEBIAN_ROOTFS,
    h.DEBIAN_SLIM_ROOTFS,
    h.DEBIAN_CMD,
    h.BUILDPACK_DEPS,
    h.PYTHON_SLIM_BUILD,
    h.PYTHON_FULL_BUILD,
    h.NODE_SLIM_INSTALL,
    h.TEMURIN_JDK,
    h.GOLANG_ENV,
    "ENV NODE_ENV=production",
    "ENV PYTHON_VERSION=3.12.4",
    "COPY . . # buildkit",
    "RUN /bin/sh -c npm ci # buildkit",
    "RUN /bin/sh -c apk add --virtual .b gcc && apk del .b",
]
IMAGES = st.one_of(
    st.sampled_from(
        [
            "python:3.12",
            "ghcr.io/acme/api:1.4",
            "nginx@sha256:" + "a" * 64,
            "eclipse-temurin:21",
            "",
        ]
    ),
    st.text(max_size=80),
)
SIZES = st.integers(min_value=0, max_value=2**40)
FLOATS = st.floats(allow_nan=True, allow_infinity=True)

created_by = st.one_of(st.sampled_from(REAL_CREATED_BY), st.text(max_size=200))


@st.composite
def image_facts(draw: st.DrawFn) -> ImageFacts:
    layers = draw(
        st.lists(
            st.builds(
                LayerInfo,
                digest=st.text(max_size=10),
                media_type=st.just("application/vnd.oci.image.layer.v1.tar+gzip"),
                compressed_bytes=SIZES,
                created_by=st.one_of(st.none(), created_by),
            ),
            max_size=8,
        )
    )
    history = draw(
        st.lists(
            st.builds(HistoryEntry, created_by=created_by, empty_layer=st.booleans()), max_size=12
        )
    )
    return ImageFacts(
        digest="sha256:" + "f" * 64,
        media_type="application/vnd.oci.image.manifest.v1+json",
        platform=Platform("linux", "amd64"),
        config_digest="sha256:" + "e" * 64,
        config_bytes=draw(SIZES),
        layers=tuple(layers),
        history=tuple(history),
        labels=draw(st.dictionaries(st.text(max_size=40), st.text(max_size=20), max_size=3)),
        base_name=draw(st.one_of(st.just(""), IMAGES)),
    )


layer_reports = st.one_of(
    st.none(),
    st.builds(
        FakeReport,
        uncompressed_bytes=SIZES,
        efficiency=FLOATS,
        wasted_bytes=SIZES,
        user_wasted_percent=FLOATS,
        hidden_bytes=SIZES,
        layers=st.lists(
            st.builds(
                FakeLayer,
                index=st.integers(-3, 20),
                digest=st.text(max_size=5),
                uncompressed_bytes=SIZES,
            ),
            max_size=4,
        ).map(tuple),
        hidden=st.lists(
            st.builds(
                FakeHidden,
                path=st.text(max_size=20),
                bytes=SIZES,
                shipped_by_layer=st.integers(-3, 20),
                removed_by_layer=st.integers(-3, 20),
            ),
            max_size=3,
        ).map(tuple),
        inefficient_files=st.lists(
            st.builds(FakeWasted, path=st.text(max_size=20), count=st.integers(0, 5), bytes=SIZES),
            max_size=3,
        ).map(tuple),
        findings=st.lists(
            st.builds(
                FakeLayerFinding,
                category=st.one_of(st.sampled_from(list(RULE_SPECS)), st.text(max_size=10)),
                rule=st.text(max_size=10),
                severity=st.text(max_size=8),
                bytes=SIZES,
                paths=st.lists(st.text(max_size=30), max_size=3).map(tuple),
                layer=st.integers(-5, 20),
                created_by=st.one_of(st.none(), created_by),
                advice=st.text(max_size=300),
            ),
            max_size=5,
        ).map(tuple),
    ),
)

exception_values = st.one_of(
    st.text(max_size=300),
    st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.text(max_size=20),
            st.sampled_from(list(RULE_SPECS)),
            st.just("2026-01-01"),
        ),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(
                st.sampled_from(
                    ["rule", "rules", "justification", "limit", "expires", "images", "x"]
                ),
                inner,
                max_size=5,
            ),
        ),
        max_leaves=12,
    ).map(json.dumps),
)

contexts = st.builds(
    Context,
    today=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)),
    namespace=st.one_of(
        st.none(), st.sampled_from(["kube-system", "ballast", "team-a"]), st.text(max_size=20)
    ),
    namespace_labels=st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
    pod_labels=st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
    annotations=st.one_of(
        st.just({}),
        exception_values.map(lambda value: {EXCEPTION_ANNOTATION: value}),
    ),
)

hand_built = st.builds(
    lambda rules, mode: Policy(rules=tuple(rules), mode=mode),
    st.lists(
        st.builds(
            Rule,
            id=st.sampled_from([*RULE_SPECS, "unknown"]),
            action=st.one_of(st.none(), st.sampled_from(list(Action))),
            limit=st.one_of(st.none(), FLOATS, SIZES),
            allow=st.lists(st.text(max_size=10), max_size=2).map(tuple),
        ),
        max_size=6,
    ),
    st.sampled_from(list(Action)),
)
policies = st.one_of(st.just(default_policy()), st.just(load_policy(FULL)), hand_built)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    facts=st.one_of(st.none(), image_facts()),
    report=layer_reports,
    context=contexts,
    policy=policies,
    image=IMAGES,
    max_items=st.integers(0, 12),
)
def test_evaluation_and_every_output_never_raise(
    facts: ImageFacts | None,
    report: FakeReport | None,
    context: Context,
    policy: Policy,
    image: str,
    max_items: int,
) -> None:
    verdict = evaluate(facts, report, image=image, context=context, policy=policy)
    assert isinstance(verdict, ImageVerdict)
    decision = decide([verdict, verdict], workload=context.workload)
    warnings = warnings_for(decision, max_items=max_items)
    assert len(warnings) <= max_items
    assert all(len(w) <= MAX_WARNING_CHARS and "\n" not in w for w in warnings)
    message = deny_message(decision)
    assert bool(message) is (verdict.verdict is Verdict.DENY)
    json.dumps(decision_to_json(decision), allow_nan=False)
    format_text(decision, verbose=True)
    format_markdown(decision, verbose=True)


@settings(max_examples=200, deadline=None)
@given(facts=image_facts(), low=SIZES, high=SIZES)
def test_a_higher_size_limit_never_gives_a_worse_verdict(
    facts: ImageFacts, low: int, high: int
) -> None:
    low, high = sorted((low, high))
    context = Context(today=dt.date(2026, 1, 1))

    def verdict(limit: int) -> Verdict:
        policy = Policy(rules=(Rule("maxCompressedSize", limit=limit, action=Action.ENFORCE),))
        return evaluate(facts, image="a/b:1", context=context, policy=policy).verdict

    assert verdict(high).rank <= verdict(low).rank


@given(st.integers(min_value=0, max_value=2**40))
def test_sizes_round_trip_in_every_unit(value: int) -> None:
    assert parse_size(value) == value
    assert parse_size(str(value)) == value
    assert parse_size(f"{value}MB") == value * 1000**2
    assert parse_size(f"{value} KiB") == value * 1024
    assert parse_size(f"{value}.5kb") == value * 1000 + 500
