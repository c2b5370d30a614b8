"""Listing addresses in the report: only an http(s) URL with a host becomes a link; the rest
(javascript:, data:, relative, malformed) is printed as escaped text."""

from __future__ import annotations

from portal.reports.links import breakable_url, http_link


def test_only_http_urls_become_links() -> None:
    assert http_link("https://listings.example/a?b=1") == "https://listings.example/a?b=1"
    assert http_link("HTTP://Listings.example/") == "HTTP://Listings.example/"
    for attack in (
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//listings.example/a",
        "https:///no-host",
        "http://[::1",
        None,
        42,
    ):
        assert http_link(attack) is None, attack


def test_long_urls_break_after_separators_and_stay_escaped() -> None:
    shown = breakable_url('https://a.example/x-y?q="1"&r=<b>')
    assert str(shown) == (
        "https://a.<wbr>example/<wbr>x-<wbr>y?<wbr>q=<wbr>&#34;1&#34;&amp;<wbr>r=<wbr>&lt;b&gt;"
    )
