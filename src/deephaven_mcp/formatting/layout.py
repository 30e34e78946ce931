"""How a text format frames its rows, so a table can be written one window of rows at a time.

Every text format is a lead (a header, ``<table>``), the rows joined by one separator, and a
trail; a few have a fixed text for no rows or no columns. Writing window by window and joining
the pieces gives exactly the text of the whole table written at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc

_Chunk = TypeVar("_Chunk")


@dataclass(frozen=True)
class TextLayout:
    """The frame around the rows of one text format, for one schema."""

    separator: str
    lead: str | None = None
    trail: str | None = None
    when_empty: str | None = None
    """The whole text when there are no rows (None: the lead and trail alone)."""
    fixed: str | None = None
    """The whole text whatever the rows (a table without columns, for some formats)."""

    def parts(self, chunks: Sequence[_Chunk]) -> list[str | _Chunk]:
        """The pieces the text is ``separator`` joined from; ``chunks`` stand for the joined
        row windows (their text, or anything standing for it, such as its JSON)."""
        if self.fixed is not None:
            return [self.fixed]
        if not chunks and self.when_empty is not None:
            return [self.when_empty]
        lead: list[str | _Chunk] = [] if self.lead is None else [self.lead]
        trail: list[str | _Chunk] = [] if self.trail is None else [self.trail]
        return [*lead, *chunks, *trail]

    def text(self, chunks: Sequence[str]) -> str:
        """The whole text, from the joined row windows."""
        return self.separator.join(str(part) for part in self.parts(chunks))


def join_rows(rows: pa.Array | Sequence[str], separator: str) -> str:
    """One string of ``rows`` joined by ``separator``, built in Arrow when they are an array."""
    if not isinstance(rows, pa.Array):
        return separator.join(rows)
    if len(rows) == 0:
        return ""
    one_list = pa.ListArray.from_arrays(pa.array([0, len(rows)], pa.int32()), rows)
    joined: str = pc.binary_join(one_list, separator)[0].as_py()
    return joined
