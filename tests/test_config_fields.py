"""smoke.config.fields.Fields is Settings' init fields as a TypedDict (issue 27): what
config.load builds a Settings from and a model entry overrides. The two must not drift."""

from __future__ import annotations

import dataclasses

import pytest

from smoke.config.fields import Fields, validated
from smoke.config.settings import Settings


def _spelled(annotation: object) -> str:
    """An annotation as written (a TypedDict keeps a ForwardRef), module prefix dropped."""
    text = getattr(annotation, "__forward_arg__", annotation)
    assert isinstance(text, str)
    return text.replace("http_headers.", "")


def test_fields_are_the_settings_init_fields_with_their_types() -> None:
    wanted = {f.name: _spelled(f.type) for f in dataclasses.fields(Settings) if f.init}
    found = {name: _spelled(kind) for name, kind in Fields.__annotations__.items()}
    assert found == wanted
    assert Fields.__optional_keys__ == set(wanted)


def test_a_name_that_is_no_field_is_refused() -> None:
    assert validated({"timeout": 3.0}) == {"timeout": 3.0}
    with pytest.raises(ValueError, match="not Settings fields: \\['targets'\\]"):
        validated({"timeout": 3.0, "targets": {}})
