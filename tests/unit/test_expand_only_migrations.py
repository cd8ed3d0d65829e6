"""Migrations since the previous release only expand the schema, so that release's code keeps working
beside the new one during a rolling update; the migrations that release shipped are never edited."""
from __future__ import annotations

import textwrap

import pytest

from cunban.registry import SERVICES
from tests.upgrade.release import PREVIOUS, expand_violations, migrations_since, shipped


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_migrations_after_the_previous_release_only_expand(service):
    problems = {path.name: [str(v) for v in expand_violations(path.read_text(encoding="utf-8"))]
                for path in migrations_since(service, PREVIOUS["heads"][service])}
    assert {name: found for name, found in problems.items() if found} == {}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_previous_release_s_migrations_are_left_as_they_shipped(service):
    assert shipped(service) == PREVIOUS["migrations"][service]


def _upgrade(body: str) -> str:
    return "from alembic import op\nimport sqlalchemy as sa\n\n\ndef upgrade() -> None:\n" + textwrap.indent(
        textwrap.dedent(body), "    ") + "\n\ndef downgrade() -> None:\n    op.drop_table('anything')\n"


EXPANDING = {
    "a table": "op.create_table('t', sa.Column('id', sa.Integer, primary_key=True))",
    "a nullable column": "op.add_column('t', sa.Column('county_code', sa.String(6), nullable=True))",
    "a column with a default": "op.add_column('t', sa.Column('n', sa.Integer, nullable=False, server_default='0'))",
    "a column in a batch": "with op.batch_alter_table('t') as batch:\n"
                           "    batch.add_column(sa.Column('county_code', sa.String(6)))",
    "an index": "op.create_index('ix_t_county', 't', ['county_code'])",
    "a backfill": "op.execute(\"UPDATE t SET county_code = substr(township_code, 1, 6) WHERE county_code IS NULL\")",
    "a default set later": "op.alter_column('t', 'n', server_default='0')",
}
CONTRACTING = {
    "a dropped column": "op.drop_column('t', 'old')",
    "a dropped column in a batch": "with op.batch_alter_table('t') as batch:\n    batch.drop_column('old')",
    "a dropped table": "op.drop_table('t')",
    "a dropped index": "op.drop_index('ix_t')",
    "a renamed table": "op.rename_table('t', 'u')",
    "a renamed column": "op.alter_column('t', 'a', new_column_name='b')",
    "a changed type": "op.alter_column('t', 'a', type_=sa.Text())",
    "NOT NULL without a default": "op.alter_column('t', 'a', nullable=False)",
    "a required column": "op.add_column('t', sa.Column('county_code', sa.String(6), nullable=False))",
    "SQL that drops": "op.execute('ALTER TABLE t DROP COLUMN old')",
    "SQL that sets NOT NULL": "op.execute(sa.text('ALTER TABLE t ALTER COLUMN a SET NOT NULL'))",
    "SQL that renames": "op.execute(f\"ALTER TABLE {'t'} RENAME TO u\")",
}


@pytest.mark.parametrize("body", EXPANDING.values(), ids=EXPANDING.keys())
def test_expanding_steps_pass(body):
    assert expand_violations(_upgrade(body)) == []


@pytest.mark.parametrize("body", CONTRACTING.values(), ids=CONTRACTING.keys())
def test_contracting_steps_are_named(body):
    found = expand_violations(_upgrade(body))
    assert len(found) == 1 and found[0].line >= 6
