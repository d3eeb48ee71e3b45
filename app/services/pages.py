"""Cursor pagination of the list routes (docs/api.md, "Lists"): at most ``limit`` items after the
one named by ``starting_after``, and whether more follow.

A cursor is an object's id, looked up within the same list (its filters and its caller's scope),
so that paging sees each object once even while new ones are added; the order is a total one (a
time, then the id).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import Final
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from app.errors import InvalidInput


@dataclass(frozen=True)
class PageRequest:
    limit: int = 100
    starting_after: UUID | None = None


#: The first page, of the default size.
FIRST_PAGE: Final = PageRequest()


async def page(
    session: AsyncSession,
    query: sa.Select[Any],
    order: Sequence[QueryableAttribute[Any]],
    asked: PageRequest,
    *,
    descending: bool = False,
) -> tuple[list[Any], bool]:
    """The page's objects of ``query`` in ``order`` (its last column the objects' ids), and
    has_more. A cursor that is not an object of this list is 422."""
    if asked.starting_after is not None:
        cursor = (
            await session.execute(
                query.with_only_columns(*order).where(order[-1] == asked.starting_after)
            )
        ).one_or_none()
        if cursor is None:
            raise InvalidInput(
                "starting_after names no object of this list",
                details=[
                    {"index": None, "field": "query.starting_after", "message": "not in the list"}
                ],
            )
        after = (
            sa.tuple_(*order) < sa.tuple_(*cursor)
            if descending
            else sa.tuple_(*order) > sa.tuple_(*cursor)
        )
        query = query.where(after)
    ordered = [column.desc() if descending else column for column in order]
    found = list(await session.scalars(query.order_by(*ordered).limit(asked.limit + 1)))
    return found[: asked.limit], len(found) > asked.limit
