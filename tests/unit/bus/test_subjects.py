"""NATS subject wildcard semantics: `*` is one token, `>` (last) is one or more tokens."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safecity.bus.port import subject_matches

tokens = st.text(alphabet="abcdefgh0123456789_-", min_size=1, max_size=6)
subjects = st.lists(tokens, min_size=1, max_size=6)


@pytest.mark.parametrize(
    ("pattern", "subject"),
    [
        ("org.unit.created", "org.unit.created"),
        ("org.*.created", "org.point.created"),
        ("*.*.*", "org.point.created"),
        ("org.>", "org.point.created"),
        ("org.>", "org.point"),
        (">", "org"),
        (">", "org.point.imported"),
        ("org.*.>", "org.device.updated"),
    ],
)
def test_pattern_matches_subject(pattern: str, subject: str) -> None:
    assert subject_matches(pattern, subject)


@pytest.mark.parametrize(
    ("pattern", "subject"),
    [
        ("org.unit.created", "org.unit.deleted"),
        ("org.unit", "org.unit.created"),  # pattern shorter than subject
        ("org.unit.created", "org.unit"),  # pattern longer than subject
        ("org.*", "org.point.created"),  # `*` is exactly one token
        ("org.*.created", "org.created"),
        ("org.>", "org"),  # `>` needs at least one token
        ("org.>.created", "org.point.created"),  # `>` only counts as the last token
        ("alarms.>", "org.point.created"),
        ("org.unit.*", "org.unit"),
    ],
)
def test_pattern_does_not_match_subject(pattern: str, subject: str) -> None:
    assert not subject_matches(pattern, subject)


@given(subjects)
def test_a_subject_matches_itself(parts: list[str]) -> None:
    subject = ".".join(parts)

    assert subject_matches(subject, subject)


@given(subjects)
def test_full_wildcard_matches_every_subject(parts: list[str]) -> None:
    assert subject_matches(">", ".".join(parts))


@given(subjects)
def test_one_star_per_token_matches_a_subject_of_that_length(parts: list[str]) -> None:
    assert subject_matches(".".join("*" * len(parts)), ".".join(parts))


small_tokens = st.sampled_from(["org", "point", "unit", "created"])
patterns = st.tuples(
    st.lists(st.one_of(small_tokens, st.just("*")), max_size=4), st.booleans()
).map(lambda parts_tail: [*parts_tail[0], ">"] if parts_tail[1] else parts_tail[0])


def reference_match(pattern: list[str], subject: list[str]) -> bool:
    """The NATS rule stated directly: `>` takes the rest (at least one token)."""
    if pattern and pattern[-1] == ">":
        head = pattern[:-1]
        taken = subject[: len(head)]
        return len(subject) > len(head) and all(
            p in ("*", s) for p, s in zip(head, taken, strict=True)
        )
    return len(pattern) == len(subject) and all(
        p in ("*", s) for p, s in zip(pattern, subject, strict=True)
    )


@given(patterns.filter(bool), st.lists(small_tokens, min_size=1, max_size=5))
def test_wildcards_match_as_the_nats_rule_states(pattern: list[str], subject: list[str]) -> None:
    assert subject_matches(".".join(pattern), ".".join(subject)) == reference_match(
        pattern, subject
    )


@given(subjects, tokens)
def test_star_pattern_rejects_a_subject_one_token_longer(parts: list[str], extra: str) -> None:
    pattern = ".".join("*" * len(parts))

    assert not subject_matches(pattern, ".".join([*parts, extra]))


@given(subjects, subjects)
def test_literal_patterns_match_only_equal_subjects(a: list[str], b: list[str]) -> None:
    assert subject_matches(".".join(a), ".".join(b)) == (a == b)
