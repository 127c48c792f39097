"""Documents of each supported type turned into blocks: paragraph-like runs of text, each
with the path of headings above it. Refuses what it cannot read, naming the reason."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass

from bs4 import BeautifulSoup, NavigableString, Tag
from markdown_it import MarkdownIt

PLAIN, MARKDOWN, HTML, PDF = "text/plain", "text/markdown", "text/html", "application/pdf"
SUPPORTED_TYPES = (PLAIN, MARKDOWN, HTML, PDF)


class UnreadableDocument(ValueError):
    """The content cannot be turned into text; the message says why."""


@dataclass(frozen=True)
class Block:
    heading_path: tuple[str, ...]
    text: str


def normalize_content_type(content_type: str) -> str:
    """'Text/Markdown; charset=utf-8' -> 'text/markdown'; '' stays '' (and is refused)."""
    return content_type.split(";", 1)[0].strip().lower()


def parse(content: bytes, content_type: str) -> list[Block]:
    kind = normalize_content_type(content_type)
    if kind == PDF:
        blocks = _pdf(content)
    elif kind in (PLAIN, MARKDOWN, HTML):
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as error:
            raise UnreadableDocument(f"{kind} content is not valid UTF-8 ({error.reason} at byte {error.start})") from None
        blocks = {PLAIN: _plain, MARKDOWN: _markdown, HTML: _html}[kind](text)
    else:
        raise UnreadableDocument(f"unsupported content type {content_type!r}; supported: {', '.join(SUPPORTED_TYPES)}")
    blocks = [b for b in blocks if b.text]
    if not blocks:
        raise UnreadableDocument("document has no text")
    return blocks


_SPACES = re.compile(r"[ \t\r\f\v]+")


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _paragraphs(text: str, path: tuple[str, ...] = ()) -> list[Block]:
    """Blank lines separate paragraphs; single line breaks inside one are kept as breaks."""
    return [Block(path, "\n".join(_clean(line) for line in para.splitlines() if line.strip()))
            for para in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if para.strip()]


def _plain(text: str) -> list[Block]:
    return _paragraphs(text)


def _markdown(text: str) -> list[Block]:
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    headings: list[tuple[int, str]] = []
    blocks: list[Block] = []
    heading_level = 0
    list_depth = 0
    row: list[str] | None = None

    def path() -> tuple[str, ...]:
        return tuple(title for _, title in headings)

    for token in tokens:
        if token.type == "heading_open":
            heading_level = int(token.tag[1])
        elif token.type == "heading_close":
            heading_level = 0
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            blocks.append(Block(path(), " | ".join(row)))
            row = None
        elif token.type == "inline":
            content = _clean(_inline_text(token))
            if heading_level:
                headings = [(level, title) for level, title in headings if level < heading_level]
                headings.append((heading_level, content))
            elif row is not None:
                row.append(content)
            elif content:
                blocks.append(Block(path(), ("- " if list_depth else "") + content))
        elif token.type in ("fence", "code_block"):
            blocks.append(Block(path(), token.content.strip()))
        elif token.type == "html_block":
            blocks.append(Block(path(), _clean(BeautifulSoup(token.content, "html.parser").get_text(" "))))
    return blocks


def _inline_text(token) -> str:
    parts = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts) if token.children else token.content


_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_BLOCK_TAGS = {"p", "li", "pre", "blockquote", "tr", "dt", "dd", "figcaption", "caption", "address",
               "div", "section", "article", "main", "aside", "header", "footer", "nav", "ul", "ol", "dl",
               "table", "thead", "tbody", "tfoot", "body", "html", "form", "fieldset", "details", "summary",
               *_HEADINGS}


def _html(text: str) -> list[Block]:
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    headings: list[tuple[int, str]] = []
    blocks: list[Block] = []

    def path() -> tuple[str, ...]:
        return tuple(title for _, title in headings)

    def emit(content: str) -> None:
        content = _clean(content)
        if content:
            blocks.append(Block(path(), content))

    def walk(node: Tag) -> None:
        nonlocal headings
        loose: list[str] = []  # inline text directly inside a container with block children
        for child in node.children:
            if isinstance(child, NavigableString):
                if type(child) is NavigableString:  # not a comment, doctype or CDATA
                    loose.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            if child.name not in _BLOCK_TAGS:
                loose.append(child.get_text(" "))
                continue
            emit(" ".join(loose))
            loose = []
            if child.name in _HEADINGS:
                level = _HEADINGS[child.name]
                headings = [(lv, t) for lv, t in headings if lv < level]
                headings.append((level, _clean(child.get_text(" "))))
            elif child.name == "tr":
                emit(" | ".join(_clean(cell.get_text(" ")) for cell in child.find_all(["td", "th"])))
            elif child.name == "pre" or not child.find(_BLOCK_TAGS):
                emit(child.get_text(" "))
            else:
                walk(child)
        emit(" ".join(loose))

    walk(soup)
    return blocks


def _pdf(content: bytes) -> list[Block]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument("PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except UnreadableDocument:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as error:
        raise UnreadableDocument(f"corrupt PDF: {error}") from None
    return [block for page in pages for block in _paragraphs(page)]
