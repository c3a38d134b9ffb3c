"""Every relative link and anchor in the documents resolves, and the README stays a front door."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.links import README, README_MAX_LINES, broken_links, documents, links, parse
from tests.helpers import ROOT


def test_every_document_to_check_exists():
    missing = [str(path.relative_to(ROOT)) for path in documents() if not path.is_file()]
    assert not missing, f"missing: {missing}"
    assert len(documents()) > 3, "docs/ holds no document"


def test_every_relative_link_and_anchor_resolves():
    broken = broken_links(documents())
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_readme_stays_short():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines (at most {README_MAX_LINES}): move the details into docs/"
    )


def test_the_readme_links_every_document():
    linked = {
        (README.parent / link.target.partition("#")[0]).resolve()
        for link in links(README, parse(README))
    }
    others = [path for path in documents() if path != README]
    unlinked = [str(path.relative_to(ROOT)) for path in others if path.resolve() not in linked]
    assert not unlinked, f"the README's 'Where to go next' misses {unlinked}"


# ------------------------------------------------------------------------------ the checker


def write(root: Path, files: dict[str, str]) -> list[Path]:
    paths = []
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


GUIDE = """# Guide

## 2b. HTTP mode (Slack calls your server)
## `maxim`: fortune for ML engineers
## The database (`[storage]`)
## Troubleshooting
### A deeper heading
## Troubleshooting
"""


def linking_to(link: str) -> dict[str, str]:
    """A small repository whose docs/index.md links to `link` on its third line."""
    index = f"# Index\n\nSee [it]({link}).\n"
    return {"docs/guide.md": GUIDE, "notes.txt": "", "docs/index.md": index}


@pytest.mark.parametrize(
    "link",
    [
        "guide.md",
        "guide.md#guide",
        "guide.md#2b-http-mode-slack-calls-your-server",
        "guide.md#maxim-fortune-for-ml-engineers",
        "guide.md#the-database-storage",
        "guide.md#troubleshooting",
        "guide.md#troubleshooting-1",
        "guide.md#a-deeper-heading",
        "./guide.md#troubleshooting",
        "/docs/guide.md",
        "../notes.txt",
        "../docs",
        "https://example.com/missing.md#nowhere",
        "mailto:someone@example.com",
    ],
)
def test_the_checker_accepts_a_link_that_resolves(tmp_path, link):
    paths = write(tmp_path, linking_to(link))
    assert broken_links(paths, root=tmp_path) == []


@pytest.mark.parametrize(
    ("link", "complaint"),
    [
        ("gide.md", "leads to no file"),
        ("guide.md#troubleshooting-2", "names no heading of docs/guide.md"),
        ("guide.md#2b-http-mode", "names no heading of docs/guide.md"),
        ("guide.md#Guide", "names no heading of docs/guide.md"),
        ("#nothing-here", "names no heading of docs/index.md"),
        ("../notes.txt#top", "has an anchor into a file that is not Markdown"),
        ("../../outside.md", "leads out of the repository"),
    ],
)
def test_the_checker_reports_a_broken_link_with_its_line(tmp_path, link, complaint):
    (tmp_path / "outside.md").write_text("# Outside\n", encoding="utf-8")
    repo = tmp_path / "repo"
    paths = write(repo, linking_to(link))
    assert broken_links(paths, root=repo) == [f"docs/index.md:3: ({link}) {complaint}"]


def test_the_checker_reads_reference_links_tables_and_images(tmp_path):
    text = """# Index

| what | where |
| --- | --- |
| a table cell | [gone](gone.md) |

![a picture](missing.png) and
[a reference][ref].

[ref]: also-gone.md
"""
    paths = write(tmp_path, {"index.md": text})
    assert broken_links(paths, root=tmp_path) == [
        "index.md:5: (gone.md) leads to no file",
        "index.md:7: (missing.png) leads to no file",
        "index.md:8: (also-gone.md) leads to no file",
    ]


def test_the_checker_ignores_links_in_code(tmp_path):
    text = """# Index

```md
[not a link](gone.md)
```

    [indented code](gone.md)

`[a code span](gone.md)`
"""
    paths = write(tmp_path, {"index.md": text})
    assert broken_links(paths, root=tmp_path) == []
