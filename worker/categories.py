"""Which of a site's category options is ours: plurals, synonyms and parent categories, and
no answer rather than a guess.

Our categories are the business_categories slugs (migration 20261129001900). Each has the
names a site may use for it and the broader categories a site may file it under. An option
is matched, best first, by one of the names exactly, then by an option that contains one of
the names ("Plumbing & Heating" for a plumber), then by a parent ("Home Services"). Two
options equally good is no confident match either: the caller fails the attempt as
category_unmatched instead of picking one. A directory with its own category_map in
directories.json never gets here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# slug -> (names, parents). Names are singular; words are matched singularised too.
VOCABULARY: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "accountant": (
        ("accountant", "accounting", "bookkeeping", "tax advisor"),
        ("professional services", "finance", "financial services"),
    ),
    "automotive": (
        ("auto repair", "car repair", "garage", "mechanic", "automotive"),
        ("auto", "car", "vehicle"),
    ),
    "bakery": (
        ("bakery", "baker", "bake shop", "patisserie"),
        ("food", "food and drink", "food and beverage", "shopping"),
    ),
    "bar": (("bar", "pub", "tavern"), ("nightlife", "food and drink")),
    "beauty-salon": (
        ("beauty salon", "beauty", "beautician", "nail salon"),
        ("beauty and spa", "health and beauty", "personal care"),
    ),
    "bookshop": (
        ("bookshop", "bookstore", "book shop", "book store", "book"),
        ("shopping", "retail"),
    ),
    "butcher": (("butcher", "meat shop"), ("food", "food and drink", "shopping")),
    "cafe": (
        ("cafe", "coffee shop", "coffee house", "coffee"),
        ("food", "food and drink", "restaurant"),
    ),
    "car-dealer": (("car dealer", "car dealership", "auto dealer"), ("auto", "car", "vehicle")),
    "childcare": (
        ("childcare", "child care", "nursery", "daycare", "day care"),
        ("education", "family"),
    ),
    "cleaning": (
        ("cleaning", "cleaner", "cleaning service", "janitorial"),
        ("home service", "home and garden"),
    ),
    "clothing-store": (
        ("clothing store", "clothing", "clothes shop", "fashion", "apparel"),
        ("shopping", "retail"),
    ),
    "construction": (
        ("construction", "builder", "building contractor", "general contractor"),
        ("home service", "home improvement", "trade"),
    ),
    "consulting": (
        ("business consulting", "consulting", "consultant"),
        ("professional services", "business services"),
    ),
    "dentist": (
        ("dentist", "dental", "dental clinic"),
        ("health", "medical", "health and medical"),
    ),
    "doctor": (
        ("doctor", "clinic", "physician", "medical practice", "gp"),
        ("health", "medical", "health and medical"),
    ),
    "electrician": (
        ("electrician", "electrical", "electrical contractor"),
        ("home service", "home improvement", "trade"),
    ),
    "estate-agent": (
        ("estate agent", "real estate", "realtor", "real estate agent"),
        ("property", "real estate"),
    ),
    "event-venue": (("event venue", "venue", "event space"), ("event", "events", "entertainment")),
    "fitness": (
        ("gym", "fitness", "fitness center", "fitness centre", "health club"),
        ("sport", "health", "active life"),
    ),
    "florist": (("florist", "flower shop", "flower"), ("shopping", "retail", "gift")),
    "furniture-store": (
        ("furniture store", "furniture"),
        ("shopping", "retail", "home and garden"),
    ),
    "gardener": (
        ("gardener", "gardening", "landscaping", "landscaper"),
        ("home service", "home and garden"),
    ),
    "grocery": (("grocery", "grocery store", "grocer", "supermarket"), ("food", "shopping")),
    "hair-salon": (
        ("hair salon", "hairdresser", "hair stylist", "barber"),
        ("beauty and spa", "health and beauty", "personal care"),
    ),
    "hardware-store": (
        ("hardware store", "hardware", "diy store"),
        ("shopping", "retail", "home and garden"),
    ),
    "hotel": (
        ("hotel", "guest house", "bed and breakfast", "inn", "motel"),
        ("travel", "hotel and travel", "accommodation", "lodging"),
    ),
    "insurance": (
        ("insurance", "insurance agency", "insurance agent", "insurance broker"),
        ("finance", "financial services"),
    ),
    "it-services": (
        ("it services", "it service", "computer repair", "it support"),
        ("professional services", "technology"),
    ),
    "jeweller": (("jeweller", "jeweler", "jewellery", "jewelry"), ("shopping", "retail")),
    "lawyer": (
        ("lawyer", "attorney", "solicitor", "law firm", "legal service"),
        ("professional services", "legal"),
    ),
    "locksmith": (("locksmith",), ("home service", "trade")),
    "marketing": (
        ("marketing agency", "marketing", "advertising agency", "advertising"),
        ("professional services", "business services"),
    ),
    "optician": (
        ("optician", "optometrist", "eye care"),
        ("health", "medical", "health and medical"),
    ),
    "painter": (
        ("painter and decorator", "painter", "decorator", "painting"),
        ("home service", "home improvement", "trade"),
    ),
    "pet-services": (
        ("pet grooming", "pet care", "pet service", "dog grooming"),
        ("pet", "animal"),
    ),
    "pharmacy": (("pharmacy", "chemist", "drugstore"), ("health", "medical", "shopping")),
    "photographer": (
        ("photographer", "photography", "photo studio"),
        ("professional services", "event", "arts"),
    ),
    "physiotherapist": (
        ("physiotherapist", "physiotherapy", "physical therapy", "physical therapist"),
        ("health", "medical", "health and medical"),
    ),
    "plumber": (
        ("plumber", "plumbing"),
        ("home service", "home improvement", "trade", "contractor"),
    ),
    "printing": (
        ("printing", "printer", "print shop", "copy shop"),
        ("business services", "professional services"),
    ),
    "removals": (
        ("removals", "removal", "mover", "moving company", "storage"),
        ("home service", "moving and storage"),
    ),
    "restaurant": (("restaurant", "diner", "eatery"), ("food", "food and drink", "dining")),
    "roofer": (
        ("roofer", "roofing", "roofing contractor"),
        ("home service", "home improvement", "trade", "contractor"),
    ),
    "school": (("school", "tutoring", "tutor", "education"), ("education",)),
    "spa": (
        ("spa", "massage", "day spa"),
        ("beauty and spa", "health and beauty", "personal care"),
    ),
    "takeaway": (
        ("takeaway", "take away", "takeout", "fast food"),
        ("food", "food and drink", "restaurant"),
    ),
    "tattoo-studio": (
        ("tattoo studio", "tattoo", "tattoo parlor", "tattoo parlour"),
        ("beauty and spa", "arts"),
    ),
    "travel-agent": (("travel agent", "travel agency"), ("travel", "hotel and travel")),
    "veterinarian": (
        ("veterinarian", "vet", "veterinary", "animal hospital"),
        ("pet", "animal", "health"),
    ),
    "wedding-services": (("wedding service", "wedding planner", "wedding"), ("event", "events")),
    "other": (("other",), ()),
}
# A catch-all option is a match only for our own "other".
_CATCH_ALL = {"other", "miscellaneous", "misc", "general", "other business"}


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def normalise(text: str) -> str:
    """Lower case, accents and punctuation gone, '&' as 'and', every word singular."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", plain.lower().replace("&", " and "))
    return " ".join(_singular(word) for word in words)


def _contains(option: str, term: str) -> bool:
    return f" {term} " in f" {option} "


@dataclass(frozen=True)
class CategoryMatch:
    value: str
    label: str
    how: str  # "name", "contains", "parent"


def match_category(slug: str, options: Sequence[tuple[str, str]]) -> CategoryMatch | None:
    """The one option (value, label) that is our category, or None when none is confidently."""
    names, parents = VOCABULARY.get(slug, ((slug.replace("-", " "),), ()))
    names_n = {normalise(name) for name in (*names, slug.replace("-", " "))}
    parents_n = {normalise(parent) for parent in parents}
    ranked: dict[int, list[CategoryMatch]] = {}
    for value, label in options:
        if not value.strip():
            continue  # the "Choose…" placeholder
        option = normalise(label) or normalise(value)
        if option in _CATCH_ALL and slug != "other":
            continue
        if option in names_n or normalise(value) in names_n:
            rank, how = 3, "name"
        elif any(_contains(option, name) for name in names_n):
            rank, how = 2, "contains"
        elif option in parents_n or any(_contains(option, parent) for parent in parents_n):
            rank, how = 1, "parent"
        else:
            continue
        ranked.setdefault(rank, []).append(CategoryMatch(value, label, how))
    for rank in (3, 2, 1):
        found = ranked.get(rank, [])
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            return None  # two equally good options: not confident
    return None
