"""Scouting a directory site before a recipe is written: its form signature, a recipe draft."""
