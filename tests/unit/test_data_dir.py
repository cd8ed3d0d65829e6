"""What `cunban up` keeps in its data directory: secrets generated on first start instead of the published
development ones (an older data directory stays readable), and the lock that keeps a second process out;
and production's refusal of missing, development and placeholder secrets."""
from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from cunban.datadir import SECRETS_FILE, lock_data_dir, with_local_secrets
from shared.pii import PersonalDataVault
from shared.settings import DEVELOPMENT_PII_KEY, DEVELOPMENT_SECRET, Settings

ROOT = Path(__file__).resolve().parents[2]
SEARCH = base64.b64encode(b"s" * 32).decode()
PRODUCTION = {"environment": "production", "secret_key": "x" * 40, "pii_search_key": SEARCH,
              "pii_keys": "k1:" + base64.b64encode(b"p" * 32).decode()}


def _env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CUNBAN_")}
    return subprocess.run([sys.executable, "-m", "cunban.cli", *args], cwd=ROOT, env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=120)


def test_a_fresh_data_dir_gets_its_own_random_secrets_kept_across_restarts(tmp_path):
    settings = with_local_secrets(Settings(data_dir=tmp_path))
    assert settings.secret_key != DEVELOPMENT_SECRET and len(settings.secret_key) >= 32
    assert DEVELOPMENT_PII_KEY not in settings.pii_keys and settings.pii_search_key
    vault = PersonalDataVault(settings.pii_keys, settings.pii_search_key)
    assert vault.current.key_id != "dev"
    assert stat.S_IMODE((tmp_path / SECRETS_FILE).stat().st_mode) == 0o600
    again = with_local_secrets(Settings(data_dir=tmp_path))  # the next start
    assert (again.secret_key, again.pii_keys, again.pii_search_key) == (
        settings.secret_key, settings.pii_keys, settings.pii_search_key)
    other = with_local_secrets(Settings(data_dir=tmp_path / "another"))
    assert other.secret_key != settings.secret_key and other.pii_keys != settings.pii_keys


def test_secrets_set_in_the_environment_win_and_production_never_reads_the_file(tmp_path):
    mine = base64.b64encode(b"m" * 32).decode()
    settings = with_local_secrets(Settings(data_dir=tmp_path, secret_key="s" * 40, pii_keys=f"m1:{mine}"))
    assert settings.secret_key == "s" * 40 and settings.pii_keys == f"m1:{mine}" and settings.pii_search_key == ""
    production = Settings(data_dir=tmp_path / "prod", **PRODUCTION)
    assert with_local_secrets(production) == production and not (tmp_path / "prod").exists()


def test_a_data_dir_written_with_the_development_key_stays_readable(tmp_path):
    old = PersonalDataVault(DEVELOPMENT_PII_KEY)  # how `cunban up` sealed and hashed personal data before
    sealed, hashed = old.encrypt("430124198001011231"), old.search_hash("430124198001011231")
    (tmp_path / "intake.db").write_bytes(b"")  # the data directory has databases already
    settings = with_local_secrets(Settings(data_dir=tmp_path))
    assert settings.secret_key != DEVELOPMENT_SECRET
    vault = PersonalDataVault(settings.pii_keys, settings.pii_search_key)
    assert vault.decrypt(sealed) == "430124198001011231"  # the development key is kept for reading
    assert vault.search_hash("430124198001011231") == hashed  # ID search and look-up codes still match
    assert vault.current.key_id != "dev" and vault.needs_rotation(sealed)  # new data under the new key


def test_a_damaged_secrets_file_is_refused_with_its_name(tmp_path):
    (tmp_path / SECRETS_FILE).write_text(json.dumps({"secret_key": "short"}))
    with pytest.raises(ValueError, match=SECRETS_FILE):
        with_local_secrets(Settings(data_dir=tmp_path))


def test_production_refuses_every_placeholder_of_env_example():
    example = _env_example()
    assert Settings(**PRODUCTION).environment == "production"
    for variable, field in (("CUNBAN_SECRET_KEY", "secret_key"), ("CUNBAN_PII_KEYS", "pii_keys"),
                            ("CUNBAN_PII_SEARCH_KEY", "pii_search_key")):
        with pytest.raises(ValidationError, match=variable):
            Settings(**{**PRODUCTION, field: example[variable]})
    with pytest.raises(ValidationError, match="CUNBAN_AMQP_URI"):  # as docker-compose.yml builds it
        Settings(**PRODUCTION, amqp_uri=f"amqp://cunban:{example['RABBITMQ_PASSWORD']}@rabbitmq:5672/")
    with pytest.raises(ValidationError, match="CUNBAN_DB_URL"):
        Settings(**PRODUCTION, db_url=f"postgresql+psycopg://cunban:{example['POSTGRES_PASSWORD']}@postgres:5432/"
                                      "cunban_{service}")
    for missing in ("secret_key", "pii_keys", "pii_search_key"):  # left out: the defaults are refused too
        with pytest.raises(ValidationError, match=f"CUNBAN_{missing.upper()}"):
            Settings(**{k: v for k, v in PRODUCTION.items() if k != missing})


def test_the_command_names_the_variable_instead_of_a_traceback(tmp_path):
    example = _env_example()
    env = {"CUNBAN_ENVIRONMENT": "production", "CUNBAN_SECRET_KEY": example["CUNBAN_SECRET_KEY"],
           "CUNBAN_PII_KEYS": PRODUCTION["pii_keys"], "CUNBAN_PII_SEARCH_KEY": SEARCH,
           "CUNBAN_DATA_DIR": str(tmp_path)}
    refused = _cli("migrate", env=env)
    assert refused.returncode == 2 and "CUNBAN_SECRET_KEY" in refused.stderr and "Traceback" not in refused.stderr
    admin = _cli("bootstrap", env={**env, "CUNBAN_SECRET_KEY": "x" * 40,
                                   "CUNBAN_ADMIN_PASSWORD": example["CUNBAN_ADMIN_PASSWORD"]})
    assert admin.returncode == 2 and "CUNBAN_ADMIN_PASSWORD" in admin.stderr


def test_a_second_process_is_refused_the_data_dir_while_one_holds_it(tmp_path):
    held = lock_data_dir(tmp_path)
    try:
        refused = _cli("migrate", env={"CUNBAN_DATA_DIR": str(tmp_path)})
        assert refused.returncode == 3, refused.stderr
        assert "in use by another cunban process" in refused.stderr and f"pid {os.getpid()}" in refused.stderr
        assert not list(tmp_path.glob("*.db"))  # refused before writing anything
    finally:
        held.close()
    assert _cli("migrate", "directory", env={"CUNBAN_DATA_DIR": str(tmp_path)}).returncode == 0  # free again
    assert (tmp_path / "directory.db").exists()


def test_the_directory_announces_its_staff_stations_and_calendar_again_on_demand(tmp_path):
    done = _cli("reannounce-directory", env={"CUNBAN_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "announced again: 0 staff, 0 stations, 0 calendar days" in done.stdout


def test_a_gateway_signing_with_the_published_secret_listens_on_this_machine_only():
    refused = _cli("gateway", "--host", "0.0.0.0", "--port", "1")
    assert refused.returncode == 2, refused.stderr
    assert "CUNBAN_SECRET_KEY" in refused.stderr and "127.0.0.1" in refused.stderr
