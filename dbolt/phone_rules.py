"""The browser's copy of the phone-number rules, generated from the `phonenumbers` package the
server checks with (dbolt/typed_values.normalise_phone), so both judge a number alike.

For every region: its country calling code, international (IDD) and national prefixes, the
national number patterns and possible lengths of each number type, and an example number;
plus the patterns phonenumbers itself uses to pick a number out of what was typed.
portal/static/business_form.js applies them the way phonenumbers.parse and is_valid_number
do. tests/unit/test_phone_rules_file.py checks the file is what this module makes from the
installed package; tests/e2e/test_phone_rules_browser.py that Chromium and Python agree on a
corpus of numbers.

Regenerate after upgrading phonenumbers:  .venv/bin/python -m dbolt.phone_rules
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import phonenumbers
from phonenumbers import phonenumberutil
from phonenumbers.phonemetadata import PhoneMetadata

from dbolt.typed_values import (
    FALLBACK_PHONE_EXAMPLE,
    PHONE_MAX_LENGTH,
    PHONE_MESSAGES,
    phone_example,
)

OUTPUT = Path(__file__).resolve().parents[1] / "portal" / "static" / "phone_rules.js"
# The number types a valid number must match one of (phonenumberutil._number_type_helper).
TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)
# phonenumbers' own patterns for reading what was typed (private names, read at generation
# time only; the test catches a rename). The browser applies them to ASCII input only.
PARSING_PATTERNS = {
    "validPhone": phonenumberutil._VALID_PHONE_NUMBER_PATTERN,
    "extension": phonenumberutil._EXTN_PATTERN,
    "validStart": phonenumberutil._VALID_START_CHAR_PATTERN,
    "unwantedEnd": phonenumberutil._UNWANTED_END_CHAR_PATTERN,
    "secondNumber": phonenumberutil._SECOND_NUMBER_START_PATTERN,
    "alphaPhone": phonenumberutil._VALID_ALPHA_PHONE_PATTERN,
    "plusChars": phonenumberutil._PLUS_CHARS_PATTERN,
}


def _desc(desc: Any) -> list[Any] | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return [
        desc.national_number_pattern,
        list(desc.possible_length or ()),
        list(desc.possible_length_local_only or ()),
    ]


def _js_replacement(rule: str | None) -> str | None:
    # Python's \1 is the browser's $1.
    return re.sub(r"\\(\d)", r"$\1", rule) if rule else None


def _region(metadata: PhoneMetadata, example_region: str | None) -> dict[str, Any]:
    # With one pattern for both, phonenumbers never tries the mobile one on its own.
    names = [
        name
        for name in TYPE_DESCS
        if not (name == "mobile" and metadata.same_mobile_and_fixed_line_pattern)
    ]
    types = [_desc(getattr(metadata, name)) for name in names]
    rules: dict[str, Any] = {
        "cc": metadata.country_code,
        "idd": metadata.international_prefix,
        "npp": metadata.national_prefix_for_parsing,
        "npt": _js_replacement(metadata.national_prefix_transform_rule),
        "ld": metadata.leading_digits,
        "general": _desc(metadata.general_desc),
        "types": [desc for desc in types if desc is not None],
    }
    if example_region and phone_example(example_region) != FALLBACK_PHONE_EXAMPLE:
        rules["example"] = list(phone_example(example_region))
    return {key: value for key, value in rules.items() if value is not None}


def build() -> dict[str, Any]:
    regions: dict[str, Any] = {}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is not None:
            regions[region] = _region(metadata, region)
    non_geographic: dict[str, Any] = {}
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        metadata = PhoneMetadata.metadata_for_nongeo_region(code)
        if metadata is not None:
            non_geographic[str(code)] = _region(metadata, None)
    return {
        "source": f"phonenumbers {phonenumbers.__version__}",
        "messages": PHONE_MESSAGES,
        "maxLength": PHONE_MAX_LENGTH,
        "fallbackExample": list(FALLBACK_PHONE_EXAMPLE),
        "patterns": {name: pattern.pattern for name, pattern in PARSING_PATTERNS.items()},
        "alpha": dict(sorted(phonenumberutil._ALPHA_PHONE_MAPPINGS.items())),
        # Calling code -> its regions, main region first (phonenumbers' order).
        "regionsByCode": {
            str(code): list(regions_of)
            for code, regions_of in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items())
        },
        "regions": regions,
        "nonGeographic": non_geographic,
    }


def render() -> str:
    data = json.dumps(build(), ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    return (
        "// Generated from the phonenumbers package by `python -m dbolt.phone_rules`:"
        " do not edit.\n"
        f"window.DBOLT_PHONE_RULES = {data};\n"
    )


def main() -> None:
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
