"""One rule for every value that comes from outside (form, query, path, JSON).

Typed request bodies and parameters use these bounded types, so an out-of-range id, page or
date is refused with a 4xx before anything reaches the database, and the OpenAPI document
declares the same bounds the server enforces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Literal

from litestar.params import Parameter
from msgspec import Meta

# PostgreSQL `integer` / `serial`: the widest id any table uses.
DB_INT_MAX = 2**31 - 1
# PostgreSQL `bigint` (audit sequence numbers).
DB_BIGINT_MAX = 2**63 - 1
MAX_PAGE = 10_000
FIRST_SUPPORTED_YEAR = 2000
LAST_SUPPORTED_YEAR = 2100

DbId = Annotated[int, Meta(ge=1, le=DB_INT_MAX)]
AuditSeq = Annotated[int, Meta(ge=0, le=DB_BIGINT_MAX)]
PageNumber = Annotated[int, Meta(ge=1, le=MAX_PAGE)]

# Characters that have no place in anything a person types: C0 controls except tab and newlines,
# DEL. NUL in particular is refused by PostgreSQL text columns.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NO_CONTROL_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def database_ids(values: Iterable[object]) -> list[int]:
    """The values that can name a row: integers within the id range. Anything else (stored
    before the bounds held) names nobody, and would make the database refuse the query."""
    return [
        value
        for value in values
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= DB_INT_MAX
    ]


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def clean_text(text: str | None) -> str:
    """Typed text as stored: Windows line ends made plain, surrounding blanks dropped."""
    return (text or "").replace("\r\n", "\n").strip()


# A ticked HTML checkbox sends "on"; an unticked one sends nothing.
Checkbox = Literal["on"] | None


# Query and path parameters: Litestar ignores msgspec ``Meta`` on them (a page of 2**64 went
# through), so their bounds are Litestar ``Parameter`` constraints.
DbIdParam = Annotated[int, Parameter(ge=1, le=DB_INT_MAX)]
# Optional inside the annotation: Litestar drops the bounds of ``Annotated[...] | None``.
AuditCursorParam = Annotated[int | None, Parameter(ge=0, le=DB_BIGINT_MAX)]


def is_supported_date(day: date) -> bool:
    """Within the years the office's data can hold (far dates overflow time arithmetic)."""
    return FIRST_SUPPORTED_YEAR <= day.year <= LAST_SUPPORTED_YEAR
