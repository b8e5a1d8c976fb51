"""The directory file's windowed parser gives what ``json.loads`` gives, wherever the file is cut
into chunks and however small the window, and reports an error at the same line and column."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.directory_file import _clients, _Malformed, _Source

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
documents = st.builds(
    lambda clients, others, indent: json.dumps({**others, "clients": clients}, indent=indent, ensure_ascii=False),
    st.lists(st.dictionaries(st.text(max_size=8), values, max_size=5) | values, max_size=8),
    st.dictionaries(st.text(max_size=8).filter(lambda k: k != "clients"), values, max_size=3),
    st.sampled_from([None, 0, 1, 4]),
)


def pieces(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in zip(points, points[1:], strict=False)]


def parse(text: str, cuts: list[int], window: int) -> list[object]:
    return list(_clients(_Source(iter(pieces(text, cuts)), window=window)))


@settings(max_examples=150, deadline=None)
@given(document=documents, cuts=st.lists(st.integers(0, 10_000), max_size=12), window=st.integers(1, 64))
def test_any_chunking_and_window_parse_like_json_loads(document, cuts, window):
    assert parse(document, cuts, window) == json.loads(document)["clients"]


def error(text: str, cuts: list[int], window: int) -> str | None:
    try:
        parse(text, cuts, window)
    except _Malformed as malformed:
        return str(malformed)
    return None


@settings(max_examples=150, deadline=None)
@given(document=documents, cut=st.integers(0, 10_000), junk=st.sampled_from(["", "x", "}", ",", "]", '"', "1"]),
       cuts=st.lists(st.integers(0, 10_000), max_size=12), window=st.integers(1, 64))
def test_a_broken_file_fails_at_the_same_place_however_it_is_read(document, cut, junk, cuts, window):
    broken = document[: cut % (len(document) + 1)] + junk
    whole = error(broken, [], 1 << 20)
    assert error(broken, cuts, window) == whole


@pytest.mark.parametrize("window", [1, 3, 1 << 20])
def test_a_number_cut_by_the_window_is_read_whole(window):
    text = '{"versie": 1234567, "clients": [{"n": 98765}]}'
    assert parse(text, list(range(0, len(text), 2)), window) == [{"n": 98765}]
