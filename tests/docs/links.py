"""Reading the project's Markdown as GitHub shows it: each document's relative links and anchors.

markdown-it-py parses CommonMark (plus GitHub's tables), so a link in a code block or a code span
is no link, as on GitHub. mdit-py-plugins' anchors plugin gives each heading the id GitHub
gives it: lower case, punctuation other than hyphens and spaces dropped, spaces turned into
hyphens, and `-1`, `-2` after a heading's second and third use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin

from tests.helpers import ROOT

README = ROOT / "README.md"
README_MAX_LINES = 200
"""The README is the front door: what the bot is, the quickstart, the commands, where to go next."""


def documents(root: Path = ROOT) -> list[Path]:
    """The documents whose links must resolve: README, CONTRIBUTING, SECURITY and docs/*.md."""
    top = [root / name for name in ("README.md", "CONTRIBUTING.md", "SECURITY.md")]
    return top + sorted((root / "docs").glob("*.md"))


@dataclass(frozen=True)
class Link:
    """One link or image of a document, with the line it starts on (1-based)."""

    source: Path
    line: int
    target: str


def parse(path: Path) -> list[Token]:
    """A document's tokens, each heading carrying its GitHub anchor in its `id` attribute."""
    parser = MarkdownIt("commonmark").enable("table").use(anchors_plugin, max_level=6)
    return parser.parse(path.read_text(encoding="utf-8"))


def anchors(tokens: list[Token]) -> set[str]:
    """The anchors a document's headings give, as GitHub makes them."""
    return {str(token.attrGet("id")) for token in tokens if token.type == "heading_open"}


def links(path: Path, tokens: list[Token]) -> list[Link]:
    """Every link and image of a document, external ones included."""
    found = []
    line = 1
    for block in tokens:
        if block.map:
            line = block.map[0] + 1
        for token in block.children or []:
            if token.type in ("softbreak", "hardbreak"):
                line += 1
            href = token.attrGet("href") if token.type == "link_open" else None
            if token.type == "image":
                href = token.attrGet("src")
            if href is not None:
                found.append(Link(path, line, str(href)))
    return found


def broken_links(paths: list[Path], root: Path = ROOT) -> list[str]:
    """One line for each relative link of `paths` that leads to no file or to no heading."""
    parsed: dict[Path, list[Token]] = {}

    def tokens_of(path: Path) -> list[Token]:
        if path not in parsed:
            parsed[path] = parse(path)
        return parsed[path]

    root = root.resolve()
    problems = []
    for path in paths:
        for link in links(path, tokens_of(path)):
            problem = _problem(link, root, tokens_of)
            if problem:
                where = path.resolve().relative_to(root)
                problems.append(f"{where}:{link.line}: ({link.target}) {problem}")
    return problems


def _problem(link: Link, root: Path, tokens_of: Callable[[Path], list[Token]]) -> str | None:
    parts = urlsplit(link.target)
    if parts.scheme or parts.netloc:
        return None  # a web address: checking it would need the network
    path = unquote(parts.path)
    if not path:
        target = link.source.resolve()
    elif path.startswith("/"):
        target = (root / path.lstrip("/")).resolve()  # GitHub reads /x as the repository's root
    else:
        target = (link.source.parent / path).resolve()
    if not target.is_relative_to(root):
        return "leads out of the repository"
    if not target.exists():
        return "leads to no file"
    if not parts.fragment:
        return None
    if target.suffix.lower() != ".md":
        return "has an anchor into a file that is not Markdown"
    if unquote(parts.fragment) not in anchors(tokens_of(target)):
        return f"names no heading of {target.relative_to(root)}"
    return None
