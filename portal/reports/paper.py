"""The paper the report PDF is printed on: US Letter for businesses in the United States and
Canada (where A4 does not fit the printers or the binders), A4 everywhere else. The customer
can ask for either with `?paper=letter|a4`; anything else falls back to their default."""

from __future__ import annotations

from dataclasses import dataclass

LETTER_COUNTRIES = frozenset({"US", "CA"})


@dataclass(frozen=True)
class Paper:
    key: str
    label: str
    # Exact sizes rather than Playwright's named formats: its A4 is 8.27 x 11.7 in, a point
    # larger than ISO's 210 x 297 mm.
    width: str
    height: str


LETTER = Paper("letter", "US Letter", "8.5in", "11in")
A4 = Paper("a4", "A4", "210mm", "297mm")
PAPERS = {paper.key: paper for paper in (LETTER, A4)}


def default_paper(country: str | None) -> Paper:
    return LETTER if (country or "").upper() in LETTER_COUNTRIES else A4


def chosen_paper(asked: str | None, country: str | None) -> Paper:
    """The paper asked for (`letter` or `a4`, any case), else the country's default."""
    return PAPERS.get((asked or "").strip().lower()) or default_paper(country)


def paper_choices(country: str | None) -> list[Paper]:
    """Both papers, the customer's default first (the report page's download links)."""
    first = default_paper(country)
    return [first, *(paper for paper in PAPERS.values() if paper != first)]
