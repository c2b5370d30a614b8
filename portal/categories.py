"""Business categories: the list lives in one place, the `business_categories` table (migration
20261129001900, maintained by migrations). The form's select is built from it and the server
checks a choice against it; customers.category's foreign key enforces it for every writer.
Read under the viewer's JWT like every other customer read."""

from __future__ import annotations

from dataclasses import dataclass

from portal.database import QuerySession


@dataclass(frozen=True)
class Category:
    slug: str
    label: str


async def load(q: QuerySession) -> list[Category]:
    return [Category(row["slug"], row["label"]) for row in await q.fetch_all("categories_list")]
