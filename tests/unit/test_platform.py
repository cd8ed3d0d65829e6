"""Platform pieces: typed errors across the wire, personal-data masking, settings, JSON logs."""
import base64
import json
import logging
from types import SimpleNamespace

import pytest
from amqp.exceptions import ConnectionForced
from hypothesis import given
from hypothesis import strategies as st
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.exceptions import serialize
from prometheus_client import REGISTRY
from sqlalchemy.exc import DBAPIError

from services.intake.adapters.orm import Base
from shared.db import UnitOfWork
from shared.errors import Conflict, CunbanError, Forbidden, NotFound, ValidationFailed, from_wire
from shared.logs import JsonFormatter, correlation_id
from shared.masking import mask_text
from shared.rpc_client import _rebuild
from shared.service import CarryOnWithoutBroker
from shared.settings import DEVELOPMENT_SECRET, Settings

intake_metadata = Base.metadata

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**9, 10**9) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@given(kind=st.sampled_from([ValidationFailed, NotFound, Conflict, Forbidden]),
       message=st.text(max_size=40), details=json_values)
def test_typed_errors_survive_nameko_serialization(kind, message, details):
    """What a service raises is what the gateway gets back: same class, code, message and details."""
    original = kind(message, details, code="some_code")
    wire = json.loads(json.dumps(serialize(original)))
    rebuilt = _rebuild(wire, "directory", "get_township")
    assert type(rebuilt) is kind
    assert (rebuilt.code, rebuilt.message, rebuilt.details) == ("some_code", message, details)


def test_unknown_remote_errors_become_remote_failures_without_leaking_internals():
    wire = json.loads(json.dumps(serialize(KeyError("secret internals"))))
    rebuilt = _rebuild(wire, "directory", "get_township")
    assert rebuilt.code == "remote_failure" and rebuilt.http_status == 500
    assert "secret" not in rebuilt.message


def test_from_wire_falls_back_to_the_base_error_for_unknown_kinds():
    err = from_wire("Mystery", ["odd_code", "odd", "null"])
    assert type(err) is CunbanError and err.code == "odd_code"


@pytest.mark.parametrize("text,expected", [
    ("身份证 110101199003071234 已登记", "身份证 110***********1234 已登记"),
    ("身份证 11010119900307123X", "110***********123X"),
    ("电话13812345678", "电话138****5678"),
    ("订单 20261128000012345678 不是身份证", "订单 20261128000012345678 不是身份证"),
])
def test_personal_data_is_masked(text, expected):
    assert expected in mask_text(text)


def test_json_log_lines_carry_the_correlation_id_and_never_raw_phone_numbers():
    token = correlation_id.set("corr-12345678")
    try:
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "called %s", ("13812345678",), None)
        line = json.loads(JsonFormatter().format(record))
    finally:
        correlation_id.reset(token)
    assert line["correlation_id"] == "corr-12345678"
    assert line["message"] == "called 138****5678"


def test_production_refuses_the_development_secret():
    with pytest.raises(ValueError):
        Settings(environment="production", secret_key=DEVELOPMENT_SECRET)
    with pytest.raises(ValueError):
        Settings(environment="production", secret_key="too-short")
    with pytest.raises(ValueError):
        Settings(environment="production", secret_key="x" * 40)  # still the development PII key
    production_pii = "k1:" + base64.b64encode(b"p" * 32).decode()
    with pytest.raises(ValueError):  # no search key of its own
        Settings(environment="production", secret_key="x" * 40, pii_keys=production_pii)
    search = base64.b64encode(b"s" * 32).decode()
    assert Settings(environment="production", secret_key="x" * 40, pii_keys=production_pii,
                    pii_search_key=search).environment == "production"


def test_database_url_template_gives_each_service_its_own_database(tmp_path):
    settings = Settings(db_url="postgresql+psycopg://u:p@db/cunban_{service}")
    assert settings.database_url("directory").endswith("/cunban_directory")
    assert Settings(data_dir=tmp_path).database_url("intake") == f"sqlite:///{tmp_path}/intake.db"


class _LosesTheBroker:
    """An entrypoint whose reply or acknowledgement meets a broker that went away."""

    def __init__(self, failure: BaseException):
        self.failure = failure

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        raise self.failure


class _Carrying(CarryOnWithoutBroker, _LosesTheBroker):
    pass


def _worker():
    return SimpleNamespace(container=SimpleNamespace(service_name="intake"),
                           entrypoint=SimpleNamespace(method_name="file_application"))


@pytest.mark.parametrize("failure", [ConnectionResetError(104, "reset"), KombuOperationalError("refused"),
                                     ConnectionForced("restart")])
def test_a_broker_lost_under_a_finished_worker_is_counted_not_fatal(failure):
    """nameko kills the whole service when a reply or ack cannot be sent; ours carry on (the message is
    redelivered and recognised)."""
    before = REGISTRY.get_sample_value("cunban_results_undelivered_total", {"service": "intake"}) or 0
    assert _Carrying(failure).handle_result("message", _worker(), {"ok": 1}, None) == ({"ok": 1}, None)
    assert REGISTRY.get_sample_value("cunban_results_undelivered_total", {"service": "intake"}) == before + 1


def test_other_failures_of_a_finished_worker_still_surface():
    with pytest.raises(ValueError):
        _Carrying(ValueError("a bug")).handle_result("message", _worker(), None, None)


def test_a_rollback_on_a_connection_the_database_cut_lets_the_connection_go():
    """A worker ending while PostgreSQL restarts: its rollback fails, and must not fail again on top."""
    class CutSession:
        closed = False

        def rollback(self):
            raise DBAPIError("ROLLBACK", None, Exception("terminating connection due to administrator command"))

        def close(self):
            self.closed = True

    session = CutSession()
    uow = UnitOfWork(session, "intake", intake_metadata)  # type: ignore[arg-type]
    uow.close()
    assert session.closed
