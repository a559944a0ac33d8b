"""The README and docs/ hold together: every relative link reaches a file (and its heading), and every
``python -m playground …`` or ``python -m bench …`` command they quote parses (parsed, never run)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bench.__main__ import build_parser as bench_parser
from playground.__main__ import build_parser as playground_parser

from .helpers import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
COMMAND = re.compile(r"python -m (playground|bench)(?![.\w])([^;]*)")  # not bench.retrieval_check, a module of its own
README_LINES = 200  # a front door, not a manual: the manual is docs/


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens.

    >>> anchor("A first session, in five steps")
    'a-first-session-in-five-steps'
    >>> anchor("When you outgrow one machine")
    'when-you-outgrow-one-machine'
    """
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {
        anchor(m.group(1))
        for line in page.read_text(encoding="utf-8").splitlines()
        if (m := re.match(r"#{1,6} (.+)", line))
    }


def links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)  # code is not a link
    return [a or b for a, b in LINK.findall(text)]


def commands(page: Path) -> list[str]:
    """Each quoted command, its continuation lines joined and its trailing comment dropped."""
    text = page.read_text(encoding="utf-8").replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        for piece in line.split("`"):  # inline code: the command ends at its closing backtick
            if m := COMMAND.search(piece):
                found.append(f"{m.group(1)} {m.group(2).split('  #')[0].split(' # ')[0].strip()}".strip())
    return found


def _words(rest: str) -> list[str]:
    rest = re.sub(r"\[[^\[\]]*\]", "", rest)  # [--optional ...] in a synopsis
    rest = rest.replace("…", "").replace("...", "")
    return shlex.split(rest)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_reaches_its_file_and_heading(page):
    for target in links(page):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name}: the link {target!r} reaches no file"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file), f"{page.name}: the link {target!r} names no heading of {file.name}"


def test_the_readme_is_a_front_door_that_reaches_every_page_of_the_manual():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= README_LINES
    linked = {Path(t.partition("#")[0]).name for t in links(ROOT / "README.md")}
    for doc in (ROOT / "docs").glob("*.md"):
        assert doc.name in linked, f"docs/{doc.name} is not reachable from the README"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_quoted_command_parses(page):
    parsers = {"playground": playground_parser(), "bench": bench_parser()}
    for command in commands(page):
        program, _, rest = command.partition(" ")
        if " / " in rest:
            continue  # a list of command names in prose, not a command
        words = _words(rest)
        parser = parsers[program]
        if program == "playground" and len(words) == 1 and not words[0].startswith("-"):
            assert words[0] in parser._subparsers._group_actions[0].choices, f"{page.name}: no command {command!r}"
            continue  # a command named in prose, without its arguments
        try:
            parser.parse_args(words)
        except SystemExit as exit_:
            assert exit_.code == 0, f"{page.name}: `python -m {command}` does not parse"
