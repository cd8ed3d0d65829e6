"""The previous release, as upgrades start from it (release.json: its commit, each service's alembic head
and the SHA-256 of every migration it shipped), and the expand/contract rule for the migrations since.

During a rolling update the previous release's code runs against the new schema, so a migration after the
previous heads may only *expand*: create a table, add a column that is nullable or has a server default,
add an index, fill data in. Dropping, renaming, changing a type or making a column NOT NULL without a
default is a *contract* step, shipped a release after the code that stopped using the thing
(docs/OPERATIONS.md, "Upgrades")."""
from __future__ import annotations

import ast
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory

from shared.migrate import alembic_config

HERE = Path(__file__).parent
PREVIOUS = json.loads((HERE / "release.json").read_text(encoding="utf-8"))

ALWAYS_CONTRACT = {"drop_table", "drop_column", "rename_table", "drop_constraint", "drop_index", "drop_table_comment"}
CONTRACT_SQL = re.compile(r"\b(DROP\s+(TABLE|COLUMN|INDEX|CONSTRAINT)|RENAME\b|SET\s+NOT\s+NULL|ALTER\s+COLUMN\s+\S+\s+"
                          r"(SET\s+DATA\s+)?TYPE)", re.IGNORECASE)


@dataclass(frozen=True)
class Violation:
    line: int
    why: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.why}"


def scripts(service: str) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(service, "sqlite://"))


def migrations_since(service: str, head: str) -> list[Path]:
    """The files of the revisions after `head` (the previous release's), oldest first."""
    directory = scripts(service)
    newer = [r for r in directory.walk_revisions(base=head, head="heads") if r.revision != head]
    return [Path(r.path) for r in reversed(newer)]


def shipped(service: str) -> dict[str, str]:
    """SHA-256 of each migration file up to the previous release's head, as the tree has it now."""
    directory = scripts(service)
    head = PREVIOUS["heads"][service]
    return {Path(r.path).name: hashlib.sha256(Path(r.path).read_bytes()).hexdigest()
            for r in directory.walk_revisions(base="base", head=head)}


def _kwargs(call: ast.Call) -> dict[str, ast.expr]:
    return {k.arg: k.value for k in call.keywords if k.arg}


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _column_problem(column: ast.expr) -> str | None:
    """A Column(...) added to a table that has rows and old code inserting into it."""
    if not (isinstance(column, ast.Call) and getattr(column.func, "attr", getattr(column.func, "id", "")) == "Column"):
        return None
    kwargs = _kwargs(column)
    required = _is_false(kwargs.get("nullable")) or (isinstance(kwargs.get("primary_key"), ast.Constant)
                                                     and kwargs["primary_key"].value is True)
    if required and "server_default" not in kwargs:
        return "adds a NOT NULL column without a server_default: the previous release's INSERTs would fail"
    return None


def expand_violations(source: str) -> list[Violation]:
    """What in a migration's upgrade() is not expand-only."""
    tree = ast.parse(source)
    upgrade = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "upgrade"), None)
    if upgrade is None:
        return []
    found: list[Violation] = []
    for node in ast.walk(upgrade):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name, kwargs = node.func.attr, _kwargs(node)
        if name in ALWAYS_CONTRACT:
            found.append(Violation(node.lineno, f"{name} is a contract step: the previous release still uses it"))
        elif name == "alter_column":
            if "new_column_name" in kwargs:
                found.append(Violation(node.lineno, "renames a column the previous release still names"))
            if "type_" in kwargs:
                found.append(Violation(node.lineno, "changes a column's type under the previous release"))
            if _is_false(kwargs.get("nullable")) and "server_default" not in kwargs:
                found.append(Violation(node.lineno, "makes a column NOT NULL without a server_default"))
        elif name == "add_column":
            for column in [*node.args, *kwargs.values()]:
                if (problem := _column_problem(column)) is not None:
                    found.append(Violation(node.lineno, problem))
        elif name == "execute":
            for text in (n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)):
                if (match := CONTRACT_SQL.search(text)) is not None:
                    found.append(Violation(node.lineno, f"SQL {match.group(0)!r} is a contract step"))
    return found
