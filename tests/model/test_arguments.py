"""How validation problems are worded (no worker needed)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.model.arguments import (
    MAX_SHOWN_PROBLEMS,
    Number,
    Offset,
    RowLimit,
    WholeNumber,
    check_argument,
    describe_problems,
    shown_value,
)


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["a", "b"] = "a"
    size: WholeNumber = 0


def _problems(type_: Any, value: object, root: str | None = None) -> str:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(type_).validate_python(value)
    return describe_problems(caught.value, root)


@pytest.mark.parametrize(
    ("type_", "value", "message"),
    [
        (RowLimit, True, "n: expected a whole number, not true"),
        (RowLimit, 0, "n: must be 1 or more"),
        (RowLimit, "5", "n: expected a whole number, not '5'"),
        (Offset, -3, "n: must be 0 or more"),
        (Number, False, "n: expected a number, not false"),
        (Number, "x", "n: expected a number, not 'x'"),
        (Annotated[list[int], Field(min_length=1)], [], "n: needs at least 1 entry"),
        (Annotated[list[int], Field(max_length=2)], [1, 2, 3], "n: takes at most 2 entries"),
        (list[_Item], [{"name": "x", "kind": "c"}], "n[0].kind: expected one of 'a' or 'b'"),
        (list[_Item], [{"kind": "a"}], "n[0].name: is required"),
        (list[_Item], [{"name": "x", "color": 1}], "n[0].color: is not a known field"),
        (
            list[_Item],
            [{"name": "x", "size": True}],
            "n[0].size: expected a whole number, not true",
        ),
    ],
)
def test_each_problem_reads_as_one_plain_phrase(type_: Any, value: object, message: str) -> None:
    assert _problems(type_, value, "n") == message


def test_union_branches_do_not_add_noise() -> None:
    """A value that fits no branch is reported once, at its place, without type names."""
    text = _problems(list[str | _Item], [3], "group_by")
    assert text == "group_by[0]: expected a string, not 3"
    assert "_Item" not in text and "str" not in text.split(":")[0]


def test_problems_are_capped() -> None:
    text = _problems(list[_Item], [{"kind": "z"}] * 10, "n")
    assert text.count(";") == MAX_SHOWN_PROBLEMS - 1


def test_long_values_are_cut_when_quoted() -> None:
    assert shown_value("x" * 100).endswith("...")
    assert len(shown_value("x" * 100)) == 40
    assert shown_value(None) == "null"


def test_check_argument_raises_the_same_words_as_the_mcp_path() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        check_argument("max_rows", RowLimit, True)
    assert str(caught.value) == "invalid argument max_rows: expected a whole number, not true"
    assert check_argument("max_rows", RowLimit, None) is None
    assert check_argument("max_rows", RowLimit, 7) == 7
