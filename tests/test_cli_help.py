"""Every command's ``--help``: exits 0 and explains each option (help texts are written for people, with ``%``)."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from playground.__main__ import build_parser, escape_help

from .helpers import ROOT


def _commands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


COMMANDS = sorted(_commands())


def test_every_command_is_listed_with_a_summary():
    out = subprocess.run(
        [sys.executable, "-m", "playground", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    for name in COMMANDS:
        assert name in out.stdout
    assert len(COMMANDS) >= 7


@pytest.mark.parametrize("command", COMMANDS)
def test_help_exits_zero_and_explains_every_option(command):
    # In a child process, as a person types it: argparse formats each help text with % only when printing.
    out = subprocess.run(
        [sys.executable, "-m", "playground", command, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith(f"usage: python -m playground {command}")
    parser = _commands()[command]
    silent = [a.option_strings[-1] for a in parser._actions if a.option_strings and not (a.help or "").strip()]
    assert not silent, f"options of '{command}' without a help text: {silent}"
    for action in parser._actions:
        for option in action.option_strings:
            assert option in out.stdout


def test_help_texts_are_escaped_once():
    # pytest does not collect doctests from __main__.py: the same examples, run here.
    assert escape_help("95% intervals, default %(default)s, already 5%%") == (
        "95%% intervals, default %(default)s, already 5%%"
    )
    assert escape_help(None) is None
