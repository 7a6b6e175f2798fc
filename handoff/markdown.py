"""FAQ answers are markdown: `to_safe_html` turns one into HTML that a browser can show
without running anything in it.

Two layers: markdown-it (CommonMark) never passes raw HTML through, and nh3 then keeps
only a few harmless tags, links only to http, https and mailto addresses, each opened
in a new tab without the page's referrer or a hold on the opener.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "code"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


@lru_cache(maxsize=2048)
def to_safe_html(markdown_text: str) -> str:
    """The markdown as sanitised HTML: only ALLOWED_TAGS, links with safe schemes."""
    rendered = _markdown.render(markdown_text)
    return nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    ).strip()
