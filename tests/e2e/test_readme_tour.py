"""The README's API tour, run as written against a fresh embedded system (issue 23, item 11): every command
word for word (only the address changes to a free port), and every answer a success unless the command's own
comment names the error status it shows, which it must then answer. The system's own log of the tour is JSON,
line by line (item 8)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT, embedded_system, free_port

STATUS = "TOUR-STATUS"  # a line on stderr: TOUR-STATUS <command number> <HTTP status>
EXIT = "TOUR-EXIT"  # a line on stderr: TOUR-EXIT <command number> <exit status>


def tour_block(readme: str) -> str:
    section = readme.split("## A tour of the API", 1)[1]
    return section.split("```sh\n", 1)[1].split("\n```", 1)[0]


def commands(block: str) -> list[str]:
    """The block cut into the shell's commands: a command goes on over a trailing backslash, an open quote or
    an open $( … ); a comment runs to the end of its line."""
    found: list[str] = []
    stack = ["top"]
    current: list[str] = []
    i = 0
    while i < len(block):
        char = block[i]
        current.append(char)
        context = stack[-1]
        if char == "\\":
            current.append(block[i + 1] if i + 1 < len(block) else "")
            i += 2
            continue
        if context == "dq":
            if char == '"':
                stack.pop()
            elif block.startswith("$(", i):
                stack.append("sub")
                current.append("(")
                i += 1
        elif char == "'":
            end = block.index("'", i + 1)
            current.append(block[i + 1:end + 1])
            i = end
        elif char == '"':
            stack.append("dq")
        elif block.startswith("$(", i):
            stack.append("sub")
            current.append("(")
            i += 1
        elif char == ")" and context == "sub":
            stack.pop()
        elif char == "#" and (i == 0 or block[i - 1] in " \t\n;"):
            end = block.find("\n", i)
            end = len(block) if end < 0 else end
            current.append(block[i + 1:end])
            i = end - 1
        elif char == "\n" and stack == ["top"]:
            text = "".join(current).strip()
            if text and not text.startswith("#"):
                found.append(text)
            current = []
        i += 1
    if (text := "".join(current).strip()) and not text.startswith("#"):
        found.append(text)
    return found


def expected_error(command: str) -> int | None:
    """The error status a command's own comment says it answers (`# 404 township_not_found`), if any."""
    comments = " ".join(line.split(" # ", 1)[1] for line in command.splitlines() if " # " in line)
    named = re.search(r"\b([45]\d\d)\b", comments)
    return int(named.group(1)) if named else None


def test_the_tour_cuts_into_its_commands():
    block = tour_block((ROOT / "README.md").read_text(encoding="utf-8"))
    found = commands(block)
    assert found[0] == "curl -s localhost:8080/public/townships/431099101/catalogue"
    assert all(not c.startswith("#") for c in found)
    assert sum(c.count("curl ") for c in found) > 60
    assert expected_error("curl -s x -H \"$AUTH\"        # another township: 404 township_not_found") == 404


def test_the_readme_tour_runs_as_written(tmp_path: Path):
    block = tour_block((ROOT / "README.md").read_text(encoding="utf-8"))
    steps = commands(block)
    port = free_port()
    script = ["curl() { command curl -w \"%{stderr}" + STATUS + " $TOUR_STEP %{http_code}\\n\" \"$@\"; }"]
    for number, command in enumerate(steps):
        script.append(f"TOUR_STEP={number}")
        script.append(command.replace("localhost:8080", f"127.0.0.1:{port}"))
        script.append(f'echo "{EXIT} {number} $?" >&2')
    (tmp_path / "tour.sh").write_text("\n".join(script) + "\n", encoding="utf-8")
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))  # the tour runs `.venv/bin/cunban` from the checkout
    data = tmp_path / "data"
    data.mkdir()
    with embedded_system(data, port) as (_, system):
        run = subprocess.run(["bash", "tour.sh"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                             env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CUNBAN_DATA_DIR": str(data)})
    failures = []
    seen: set[int] = set()
    for line in run.stderr.splitlines():
        kind, _, rest = line.partition(" ")
        if kind not in (STATUS, EXIT):
            continue
        number, outcome = (int(part) for part in rest.split())
        seen.add(number)
        wanted = expected_error(steps[number])
        if kind == EXIT and outcome != 0:
            failures.append(f"exit {outcome}: {steps[number]}")
        elif kind == STATUS and outcome != wanted and (wanted is not None or not 200 <= outcome < 400):
            failures.append(f"HTTP {outcome}{f' (README says {wanted})' if wanted else ''}: {steps[number]}")
    assert seen == set(range(len(steps))), f"commands not run: {sorted(set(range(len(steps))) - seen)}"
    assert not failures, "\n\n".join(failures) + "\n\nstdout:\n" + run.stdout[-3000:]
    log = system.log()
    for line in log.splitlines():
        assert isinstance(json.loads(line), dict), line
    personal = set(re.findall(r"\b1[3-9]\d{9}\b|\b\d{17}[\dX]\b", block))
    assert len(personal) >= 4
    for number in personal:  # the villagers' phones and ID cards of the tour, never in the log unmasked
        assert number not in log, number
