"""The customer's job: read under their JWT (reads), followed live (live), and its completion
report as a page, CSV and PDF (report)."""
