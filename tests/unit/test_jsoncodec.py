"""Messages and JSON columns are written with orjson, and stay what kombu's own serializer writes and reads:
a process of the previous release reads what this one sends, and the other way round."""
from datetime import UTC, datetime
from decimal import Decimal

import kombu.serialization
from kombu.utils import json as kombu_json

from shared import jsoncodec


def test_kombus_json_is_the_codec_once_the_codec_module_is_imported():
    content_type, encoding, body = kombu.serialization.dumps({"受理": [1, 2.5, None, True]}, "json")
    assert (content_type, encoding) == ("application/json", "utf-8")
    assert body == jsoncodec.dumps({"受理": [1, 2.5, None, True]})
    assert kombu.serialization.loads(body, content_type, encoding) == {"受理": [1, 2.5, None, True]}


def test_what_this_release_sends_the_previous_one_reads_and_the_other_way_round():
    envelope = {"event_id": "e1", "type": "application_filed", "payload": {"item_name": "农资购买代办", "days": 3}}
    assert kombu_json.loads(jsoncodec.dumps(envelope)) == envelope
    assert jsoncodec.loads(kombu_json.dumps(envelope).encode()) == envelope
    assert jsoncodec.loads(kombu_json.dumps(envelope)) == envelope  # text, as the memory transport may hand it


def test_what_kombu_writes_in_a_form_of_its_own_is_still_kombus():
    value = {"at": datetime(2026, 12, 4, 8, 30, tzinfo=UTC), "amount": Decimal("1.50"), "raw": b"\x00\xff"}
    body = jsoncodec.dumps(value)
    assert body == kombu_json.dumps(value).encode()  # orjson passed it by: kombu tags the datetime and decimal
    assert jsoncodec.loads(body) == value  # and the tags are read back by kombu's reader
    assert jsoncodec.loads(memoryview(body)) == value


def test_a_json_column_takes_what_the_standard_library_takes():
    assert jsoncodec.column_text({"村": "清水村", 1: [0.5]}) == '{"村":"清水村","1":[0.5]}'
