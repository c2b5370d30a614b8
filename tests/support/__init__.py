"""Harnesses and helpers shared by the test tiers; no tests here."""
