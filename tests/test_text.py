"""GSM 03.38 counting, splitting and truncation (spec gsm-segments.md)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.core.errors import InvalidText
from smsgate.core.text import (
    GSM_BASIC,
    GSM_EXTENSION,
    PART_LIMIT,
    SINGLE_LIMIT,
    Encoding,
    clusters,
    fit_text,
    segment,
    units_of,
)


@pytest.mark.parametrize(
    ("text", "encoding", "units", "part_units"),
    [
        ("a" * 160, Encoding.GSM7, 160, (160,)),
        ("a" * 161, Encoding.GSM7, 161, (153, 8)),
        ("ち" * 70, Encoding.UCS2, 70, (70,)),
        ("ち" * 71, Encoding.UCS2, 71, (67, 4)),
        ("€" * 80, Encoding.GSM7, 160, (160,)),
        ("Ç", Encoding.GSM7, 1, (1,)),
        ("ç", Encoding.UCS2, 1, (1,)),
        ("\r\n", Encoding.GSM7, 2, (2,)),
        ("😀", Encoding.UCS2, 2, (2,)),
        ("[]", Encoding.GSM7, 4, (4,)),
        ("[] ç", Encoding.UCS2, 4, (4,)),
    ],
)
def test_worked_examples(
    text: str, encoding: Encoding, units: int, part_units: tuple[int, ...]
) -> None:
    seg = segment(text)
    assert (seg.encoding, seg.units, seg.part_units) == (encoding, units, part_units)


def test_the_characters_that_force_ucs2_are_reported_once() -> None:
    assert segment("Ça coûte ‘5€’ ‘ok’").ucs2_characters == ("û", "‘", "’")


def test_escape_pair_is_never_split() -> None:
    seg = segment("a" * 152 + "€" + "a" * 10)
    assert seg.part_units[0] == 152
    assert seg.parts[1].startswith("€")


def test_surrogate_pair_is_never_split() -> None:
    seg = segment("a" * 66 + "😀" + "ち" * 10)
    assert seg.parts[0] == "a" * 66
    assert seg.parts[1].startswith("😀")


def test_grapheme_cluster_moves_whole_to_the_next_part() -> None:
    family = "👨\u200d👩\u200d👧"  # 8 UTF-16 units, one cluster
    seg = segment("a" * 62 + family + "b" * 10)
    assert seg.parts[0] == "a" * 62
    assert seg.parts[1].startswith(family)


def test_cluster_longer_than_a_part_is_split_at_code_points() -> None:
    text = "e" + "\u0301" * 200  # one cluster of 201 UCS-2 units
    seg = segment(text)
    assert "".join(seg.parts) == text
    assert all(u <= 67 for u in seg.part_units)


def test_fit_cuts_to_one_sms_by_default() -> None:
    fitted = fit_text("a" * 200)
    assert fitted.truncated and fitted.text == "a" * 160 and fitted.original_length == 200


def test_fit_keeps_a_longer_gsm_prefix_before_a_unicode_tail() -> None:
    fitted = fit_text("a" * 150 + "ち" * 30)
    assert fitted.text == "a" * 150 and fitted.segmentation.encoding is Encoding.GSM7


def test_fit_with_more_parts_and_a_character_cap() -> None:
    fitted = fit_text("a" * 1000, max_parts=3)
    assert fitted.text == "a" * 459 and fitted.segmentation.count == 3
    capped = fit_text("a" * 1000, max_parts=10, max_chars=640)
    assert capped.text == "a" * 640


def test_no_truncate_refuses_with_the_numbers() -> None:
    with pytest.raises(InvalidText, match=r"161 septets, 2 parts; the limit is 1 part"):
        fit_text("a" * 161, truncate=False)


def test_empty_text_is_refused() -> None:
    with pytest.raises(InvalidText, match="empty"):
        fit_text("")


GSM_TEXT = st.text(alphabet=sorted(GSM_BASIC | GSM_EXTENSION), max_size=600)
PIECES = st.one_of(
    st.sampled_from(sorted(GSM_BASIC | GSM_EXTENSION)),
    st.characters(codec="utf-8"),
    st.sampled_from(["😀", "🇫🇷", "👍🏽", "\u0301", "\u200d", "ç", "’", "👨\u200d👩\u200d👧"]),
)
ANY_TEXT = st.lists(PIECES, max_size=300).map("".join)


@given(st.one_of(GSM_TEXT, ANY_TEXT))
def test_parts_rebuild_the_text_and_respect_limits(text: str) -> None:
    seg = segment(text)
    assert "".join(seg.parts) == text
    assert sum(seg.part_units) == seg.units
    # each part carries whole escape pairs and surrogate pairs: its own units are its count
    assert [units_of(part, seg.encoding) for part in seg.parts] == list(seg.part_units)
    assert all(part.encode("utf-16-le", "strict") for part in seg.parts if part)
    if seg.count == 1:
        assert seg.units <= SINGLE_LIMIT[seg.encoding]
    else:
        assert seg.units > SINGLE_LIMIT[seg.encoding]
        assert all(0 < u <= PART_LIMIT[seg.encoding] for u in seg.part_units)
    assert segment(text) == seg


@given(ANY_TEXT)
def test_parts_never_split_a_grapheme_that_fits_in_a_part(text: str) -> None:
    seg = segment(text)
    spans = []
    position = 0
    for cluster in clusters(text):
        spans.append((position, position + len(cluster), units_of(cluster, seg.encoding)))
        position += len(cluster)
    cut = 0
    for part in seg.parts[:-1]:
        cut += len(part)
        inside = [units for start, end, units in spans if start < cut < end]
        assert not inside or inside[0] > PART_LIMIT[seg.encoding]


@given(st.one_of(GSM_TEXT, ANY_TEXT).filter(lambda t: t != ""), st.integers(1, 6))
def test_truncation_is_a_prefix_that_fits(text: str, max_parts: int) -> None:
    fitted = fit_text(text, max_parts=max_parts, max_chars=640)
    assert text.startswith(fitted.text)
    assert fitted.segmentation.count <= max_parts
    assert len(fitted.text) <= 640
    assert fitted.truncated == (fitted.text != text)
    assert fit_text(text, max_parts=max_parts, max_chars=640) == fitted


@given(st.integers(min_value=-(10**7), max_value=10**8))
def test_a_send_time_is_taken_only_ahead_and_within_a_year(seconds: int) -> None:
    """Property: check_send_time refuses exactly the past (and now) and beyond 366 days."""
    from datetime import UTC, datetime, timedelta

    from smsgate.core.errors import InvalidInput
    from smsgate.core.schedule import FURTHEST, check_send_time

    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    moment = now + timedelta(seconds=seconds)
    accepted = timedelta(0) < moment - now <= FURTHEST
    try:
        check_send_time(moment, now)
    except InvalidInput:
        assert not accepted
    else:
        assert accepted
