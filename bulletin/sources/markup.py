"""A page's markup pruned of furniture before its article is extracted (stage: pages).

trafilatura finds the article's container well, but it reads what sits inside or next to
it: a caption paragraph under each photo, the share row, a comment box's disclaimer, a
hidden promo, the editor's list of recent articles (``bench/README.md``, real pages). On
the page those are marked, by the words sites give their elements (``p.pic-text``,
``div.share-bar``, ``div#comments``, ``div.hidden``: the markup of
:data:`bulletin.text.furniture.KINDS`) and by their shape (a block made of links, a short
line under an image). They are taken out of the tree here, before trafilatura sees it:

* **the article is never pruned.** The block holding most of the page's sentences (the
  parent of most paragraph text) and every element around it are kept whatever their
  class says (a site may call its article ``div.content-hidden-ad``); what is inside it
  is pruned like the rest;
* **marked elements**: an element whose class or id words name a kind of furniture, the
  site's navigation, or that the page hides (``display:none``, ``hidden``);
* **link lists**: a block of three links or more whose text is mostly link text;
* **captions by place**: the short block right after an image-only block, or an image
  with a short line beside it in one block (Chinese CMSs put the caption in a plain
  ``<p>`` under the photo).

Pure: a tree in, the same tree pruned, and what was taken out (kind, text) for ``-v``.
"""

from __future__ import annotations

import re
from collections import defaultdict

from lxml.html import HtmlElement

from bulletin.text.chars import HAN
from bulletin.text.furniture import BY_NAME, markup_kind

#: Blocks whose text is a paragraph (the article's paragraphs are among them).
_BLOCKS = frozenset({"p", "div", "section", "li", "td", "dd", "blockquote", "article", "font", "center"})
_NESTED = [
    "p",
    "div",
    "section",
    "li",
    "td",
    "dd",
    "table",
    "ul",
    "ol",
    "article",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
]
#: Tags that lay a page out when the article sits inside them (an old table layout, a list
#: of columns): read as plain containers, or trafilatura reads the article as a list item.
_LAYOUT = frozenset({"li", "ul", "ol", "dl", "dd", "dt", "table", "tbody", "thead", "tr", "td", "th"})
_HAN = re.compile(f"[{HAN}]")
_SENTENCE = re.compile("[。！？]")
_SPACE = re.compile(r"\s+")
_CAMEL = re.compile(r"([a-z])([A-Z])")
_SPLIT = re.compile(r"[^a-z0-9]+")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
#: Inline elements: furniture words on one inside a sentence (``<a class="tag">台積電</a>``)
#: do not take it out of the sentence.
_INLINE = frozenset({"a", "span", "em", "strong", "b", "i", "u", "font", "small", "sup", "sub", "label"})
#: Han characters around an inline element, in its parent, that make it part of running text.
RUNNING_TEXT = 10
#: A block under an image with at most this many Han characters is its caption.
CAPTION_MAX = 60
#: A block with this many links or more, whose link text is this share of its text, is a list.
LIST_LINKS = 3
LIST_SHARE = 0.6


def _words(element: HtmlElement) -> frozenset[str]:
    raw = f"{element.get('class') or ''} {element.get('id') or ''}"
    return frozenset(w for w in _SPLIT.split(_CAMEL.sub(r"\1 \2", raw).lower()) if w)


def _han(text: str) -> int:
    return len(_HAN.findall(text))


def _in_running_text(element: HtmlElement) -> bool:
    """Is this inline element a piece of its paragraph's text (words around it)?"""
    parent = element.getparent()
    if parent is None:
        return False
    return _han(parent.text_content()) - _han(element.text_content()) >= RUNNING_TEXT


def _hidden(element: HtmlElement) -> bool:
    return element.get("hidden") is not None or bool(_HIDDEN_STYLE.search(element.get("style") or ""))


def _visible(text: str) -> int:
    """How much text a reader sees: characters but spaces."""
    return len(_SPACE.sub("", text))


def _main(root: HtmlElement) -> HtmlElement | None:
    """The element holding most of the page's sentences: the parent of most paragraph text."""
    weight: dict[HtmlElement, int] = defaultdict(int)
    for block in root.iter(*_BLOCKS):
        if next(block.iterdescendants(*_NESTED), None) is not None:
            continue  # not a paragraph: its paragraphs are counted
        text = block.text_content()
        if not _SENTENCE.search(text):
            continue
        parent = block.getparent()
        if parent is not None:
            weight[parent] += _han(text)
    for element in root.iter():  # text set with <br> straight inside a container
        if isinstance(element.tag, str) and sum(1 for c in element if c.tag == "br") >= 2:
            loose = (element.text or "") + "".join(c.tail or "" for c in element)
            if _SENTENCE.search(loose):
                weight[element] += _han(loose)
    return max(weight, key=weight.__getitem__) if weight else None


def _is_image_only(element: HtmlElement) -> bool:
    return (element.tag == "img" or element.find(".//img") is not None) and not _han(element.text_content())


def prune(root: HtmlElement) -> list[tuple[str, str]]:
    """Take the furniture out of ``root`` (in place); what was taken: (kind, its text)."""
    main = _main(root)
    keep = set() if main is None else {main, *main.iterancestors()}
    for element in keep:  # a layout list or table around the article is a container, not a list
        if element.tag in _LAYOUT:
            element.tag = "div"
    doomed: list[tuple[HtmlElement, str]] = []
    for element in root.iter():
        if not isinstance(element.tag, str) or element in keep or element.tag in ("html", "body", "head"):
            continue
        if element.tag in _INLINE and _in_running_text(element):
            continue  # a keyword link or a time inside a sentence is part of the sentence
        kind = markup_kind(_words(element))
        most = BY_NAME[kind].markup_max if kind in BY_NAME else None
        if most is not None and len(_SENTENCE.findall(element.text_content())) > most:
            kind = None  # a long block is no byline or ad, whatever its class says
        if kind is None and _hidden(element):
            kind = "hidden"
        if kind is None and element.tag in ("ul", "ol", "dl", "div", "section", "table", "p", "td", "span"):
            links = [a for a in element.iter("a") if a.text_content().strip()]
            if len(links) >= LIST_LINKS:
                linked = sum(_visible(a.text_content()) for a in links)
                total = _visible(element.text_content())
                if total and linked / total >= LIST_SHARE:
                    kind = "link lists"
        if kind is not None:
            doomed.append((element, kind))
    if main is not None:
        doomed += _captions(main)
    removed: list[tuple[str, str]] = []
    for element, kind in doomed:
        if element.getparent() is None:
            continue
        text = " ".join(element.text_content().split())
        element.drop_tree()  # its tail, text of the parent, stays
        if text:
            removed.append((kind, text))
    return removed


def _captions(main: HtmlElement) -> list[tuple[HtmlElement, str]]:
    """Captions by place: the short block under each photo, on a page that captions its
    photos so (every photo followed by text is followed by a short block: a page whose
    photos sit between long paragraphs does not, and its short paragraphs are the story)."""
    found: list[tuple[HtmlElement, str]] = []
    children = [c for c in main if isinstance(c.tag, str)]
    under = [
        (child, _han(child.text_content()))
        for n, child in enumerate(children)
        if n and _is_image_only(children[n - 1]) and child.tag in _BLOCKS
    ]
    if all(han <= CAPTION_MAX for _, han in under):
        found += [(child, "captions") for child, han in under if han]
    for child in children:
        han = _han(child.text_content())
        if child.find(".//img") is not None and 0 < han <= CAPTION_MAX:
            found.append((child, "captions"))  # the photo and its line in one block
    return found
