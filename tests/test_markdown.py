"""FAQ answers' markdown as the widget shows it: formatting kept, anything that could run
script gone."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from handoff.markdown import to_safe_html


class Tags(HTMLParser):
    """Every tag and attribute in a piece of HTML (text, escaped or not, is no tag)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def test_bold_lists_and_links_are_kept():
    html = to_safe_html(
        "**Zwrot** w *14 dni*:\n\n- formularz\n- paczka\n\n1. raz\n2. dwa\n\n[Regulamin](https://domowo.pl/r)"
    )
    assert "<strong>Zwrot</strong>" in html and "<em>14 dni</em>" in html
    assert "<ul>\n<li>formularz</li>\n<li>paczka</li>\n</ul>" in html
    assert "<ol>\n<li>raz</li>\n<li>dwa</li>\n</ol>" in html
    assert '<a href="https://domowo.pl/r" target="_blank" rel="noopener noreferrer nofollow">Regulamin</a>' in html


def test_mailto_and_code_are_kept():
    html = to_safe_html("Napisz: [sklep@domowo.pl](mailto:sklep@domowo.pl), kod `RABAT10`")
    assert 'href="mailto:sklep@domowo.pl"' in html and "<code>RABAT10</code>" in html


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[kliknij](javascript:alert(1))",
        "[kliknij](JAVASCRIPT:alert(1))",
        "[kliknij](data:text/html,<script>alert(1)</script>)",
        "[kliknij](vbscript:msgbox(1))",
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src=https://evil.example></iframe>",
        '<svg onload="alert(1)"></svg>',
        "![x](https://evil.example/x.png)",
    ],
)
def test_nothing_that_runs_script_survives(hostile):
    html = to_safe_html(hostile)
    for tag, attributes in Tags(html).found:
        assert tag in {"p", "a"}, html
        assert set(attributes) <= {"href", "target", "rel"}, html
        assert attributes.get("href", "https:").lower().startswith(("https:", "http:", "mailto:")), html


def test_raw_html_is_shown_as_text():
    assert to_safe_html("<b>Zwroty</b>") == "<p>&lt;b&gt;Zwroty&lt;/b&gt;</p>"


def test_only_allowed_tags_come_out():
    html = to_safe_html("# Tytuł\n\n> cytat\n\n---\n\n```\nblok\n```")
    assert "<h1" not in html and "<blockquote" not in html and "<hr" not in html and "<pre" not in html
    assert "Tytuł" in html and "cytat" in html and "blok" in html


def test_results_are_cached():
    to_safe_html.cache_clear()
    to_safe_html("**raz**")
    to_safe_html("**raz**")
    assert to_safe_html.cache_info().hits == 1
