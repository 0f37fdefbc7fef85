"""The text part of a formatted reply, written from its sanitized HTML so that a reader of
plain text mail sees the same message: list items as "- " (or "1. "), links as
"text <url>", quotes as "> ", one line per block and line break.

It reads HTML that `helpdesk.mail.parse.sanitize_html` has cleaned, so it only needs to
know the tags that cleaner lets through.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tr",
        "ul",
    }
)
# Blocks a browser shows with a margin under them; the text keeps that as a blank line.
_SPACED = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table"})
_WHITESPACE = re.compile(r"\s+")


def plain_text_from_html(html: str) -> str:
    writer = _PlainTextWriter()
    writer.feed(html)
    writer.close()
    return writer.text()


class _PlainTextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.inline: list[str] = []  # the text of the line being written
        self.quote_depth = 0
        self.lists: list[int | None] = []  # per open list: the last number, None for bullets
        self.item_mark = ""  # the bullet the next line starts with
        self.in_item = 0
        self.pre_depth = 0
        self.links: list[tuple[str, int]] = []  # href, where its text starts in the line

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "br":
            self._end_line(keep_empty=True)
        elif tag in _BLOCKS:
            self._end_line()
            self._open_block(tag)
        elif tag == "a":
            self.links.append((attributes.get("href", ""), len("".join(self.inline))))
        elif tag == "img" and attributes.get("alt"):
            self.inline.append(attributes["alt"])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _BLOCKS:
            self.handle_endtag(tag)

    def _open_block(self, tag: str) -> None:
        if tag == "blockquote":
            self.quote_depth += 1
        elif tag in ("ul", "ol"):
            self.lists.append(0 if tag == "ol" else None)
        elif tag == "li":
            self.in_item += 1
            if self.lists and self.lists[-1] is not None:
                self.lists[-1] += 1
                self.item_mark = f"{self.lists[-1]}. "
            else:
                self.item_mark = "- "
        elif tag == "pre":
            self.pre_depth += 1
        elif tag == "hr":
            self.lines.append(self._prefix() + "-" * 20)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.links:
            self._end_link(*self.links.pop())
        if tag not in _BLOCKS:
            return
        self._end_line()
        if tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            if not self.lists:
                self._blank_line()
        elif tag == "li":
            self.in_item = max(0, self.in_item - 1)
            self.item_mark = ""
        elif tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
        if tag in _SPACED:
            self._blank_line()

    def handle_data(self, data: str) -> None:
        if not self.pre_depth:
            self.inline.append(_WHITESPACE.sub(" ", data))
            return
        first, *rest = data.split("\n")
        self.inline.append(first)
        for line in rest:
            self._end_line(keep_empty=True)
            self.inline.append(line)

    def _end_link(self, href: str, start: int) -> None:
        label = "".join(self.inline)[start:].strip()
        target = href.removeprefix("mailto:")
        if href and target != label and href != label:
            self.inline.append(f" <{target}>" if label else target)

    def _prefix(self) -> str:
        quote = "> " * self.quote_depth
        if not self.lists and not self.in_item:
            return quote
        indent = "  " * max(0, len(self.lists) - 1)
        mark, self.item_mark = self.item_mark, ""
        return f"{quote}{indent}{(mark or '  ') if self.in_item else mark}"

    def _end_line(self, *, keep_empty: bool = False) -> None:
        text = "".join(self.inline)
        self.inline = []
        if not self.pre_depth:
            text = text.strip(" ")
        if not text and not keep_empty:
            return
        self.lines.append((self._prefix() + text).rstrip())

    def _blank_line(self) -> None:
        blank = ("> " * self.quote_depth).rstrip()
        if self.lines and self.lines[-1] != blank:
            self.lines.append(blank)

    def text(self) -> str:
        self._end_line()
        text = "\n".join(self.lines).strip("\n")
        return re.sub(r"\n{3,}", "\n\n", text)
