"""The `cunban` command explains itself: every command listed with a line of help, every option with its own,
and a command that cannot reach what it needs says so in one line, at once, without a traceback."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

from cunban.cli import build_parser
from tests.support import ROOT, free_port


def _cunban(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CUNBAN_")}
    # the timeout only guards the test run against a hang; the refusals below answer without waiting
    return subprocess.run([sys.executable, "-m", "cunban.cli", *args], cwd=ROOT, env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=60)


def _commands() -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_help_lists_every_command_with_a_line_of_help():
    shown = _cunban("--help")
    assert shown.returncode == 0
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {choice.dest: choice.help for choice in sub._choices_actions}
    assert set(helps) == set(_commands())
    assert len(helps) >= 14
    for name, summary in helps.items():
        assert summary and summary.strip(), f"`cunban {name}` has no help"
        assert name in shown.stdout
        assert summary.split()[0] in shown.stdout


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_option_of_every_command_says_what_it_is_for(name):
    parser = _commands()[name]
    assert parser.description, f"`cunban {name} --help` says nothing about the command"
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help and action.help != argparse.SUPPRESS, f"`cunban {name}`: {action.dest} has no help"


def test_dlq_against_the_embedded_system_says_where_its_dead_letters_are():
    result = _cunban("dlq", "list")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "/console/admin/health" in result.stderr and "--amqp-uri" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("command", [["dlq", "list"], ["dlq", "replay"], ["bootstrap"], ["seed-demo"]])
def test_a_command_needing_the_broker_says_it_cannot_reach_it(command):
    nobody = f"amqp://guest:guest@127.0.0.1:{free_port()}//"  # a port nothing listens on
    result = _cunban(*command, "--amqp-uri", nobody)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("{")]  # JSON logs aside
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"cunban {command[0]}: cannot reach the broker at amqp://guest:**@127.0.0.1:")
    assert "CUNBAN_AMQP_URI" in lines[0]


def test_a_command_needing_a_database_says_it_cannot_reach_it():
    nobody = f"postgresql+psycopg://cunban:cunban@127.0.0.1:{free_port()}/cunban_{{service}}"
    result = _cunban("notifications", "list", "--db-url", nobody)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cunban notifications: cannot reach the database" in result.stderr
    assert "CUNBAN_DB_URL" in result.stderr


def test_a_process_of_the_system_refuses_in_a_json_log_line():
    refused = _cunban("gateway", "--host", "0.0.0.0")  # the development secret on an open address
    assert refused.returncode == 2
    records = [json.loads(line) for line in refused.stderr.splitlines()]
    assert records[-1]["level"] == "ERROR" and "CUNBAN_SECRET_KEY" in records[-1]["message"]
    assert records[-1]["message"].startswith("cunban gateway: refused:")
