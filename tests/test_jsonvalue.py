"""smoke.jsonvalue: a field of the wrong type reads as None, never raises."""

from __future__ import annotations

from smoke import jsonvalue as jv

DOC: dict[str, object] = {
    "s": "x", "i": 3, "f": 1.5, "b": True, "o": {"k": 1}, "a": [1, {"k": 2}, "z", {3: 4}],
    "n": None,
}


def test_each_reader_returns_the_value_of_its_type() -> None:
    assert jv.text(DOC, "s") == "x"
    assert jv.integer(DOC, "i") == 3
    assert jv.number(DOC, "i") == 3.0 and jv.number(DOC, "f") == 1.5
    assert jv.flag(DOC, "b") is True
    assert jv.child(DOC, "o") == {"k": 1}
    assert jv.items(DOC, "a") == [1, {"k": 2}, "z", {3: 4}]
    assert jv.objects(DOC, "a") == [{"k": 2}]


def test_a_wrong_type_or_a_missing_key_reads_as_none() -> None:
    for reader in (jv.text, jv.integer, jv.number, jv.flag, jv.child, jv.items):
        assert reader(DOC, "missing") is None
        assert reader(DOC, "n") is None
    assert jv.text(DOC, "i") is None
    assert jv.integer(DOC, "b") is None and jv.number(DOC, "b") is None  # bool is no number
    assert jv.integer(DOC, "f") is None
    assert jv.flag(DOC, "i") is None
    assert jv.child(DOC, "a") is None and jv.items(DOC, "o") is None
    assert jv.as_object({1: "non-str key"}) is None
    assert jv.objects(DOC, "s") == []
