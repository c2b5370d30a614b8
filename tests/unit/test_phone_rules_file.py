"""portal/static/phone_rules.js is exactly what dbolt/phone_rules.py makes from the installed
phonenumbers package: upgrading the package without regenerating the browser's copy fails
here (regenerate with `.venv/bin/python -m dbolt.phone_rules`)."""

from __future__ import annotations

from dbolt import phone_rules


def test_the_browsers_phone_rules_are_generated_from_the_installed_package() -> None:
    assert phone_rules.OUTPUT.read_text(encoding="utf-8") == phone_rules.render(), (
        "portal/static/phone_rules.js is stale: run .venv/bin/python -m dbolt.phone_rules"
    )


def test_every_region_has_what_the_browser_needs() -> None:
    rules = phone_rules.build()
    for region, data in {**rules["regions"], **rules["nonGeographic"]}.items():
        # lengthVerdict in phone_check.js, like phonenumbers, needs the general lengths.
        assert data["general"][1], region
        assert data["types"], region
    assert rules["regionsByCode"]["1"][0] == "US"
    assert rules["regions"]["US"]["example"] == ["(201) 555-0123", "+1 201-555-0123"]
