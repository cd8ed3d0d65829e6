"""Personal data: GB 11643 ID-card check digits, mobile numbers, masking, encryption at rest."""
import base64
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.contracts.base import parse
from shared.contracts.intake import Applicant
from shared.errors import ValidationFailed
from shared.pii import (
    PersonalDataVault,
    id_card_check_digit,
    id_card_problem,
    is_mobile,
    mask_id_card,
    mask_name,
    mask_phone,
)


@pytest.mark.parametrize("number", ["11010519491231002X", "430124198001011231", "110101199003077774"])
def test_valid_id_cards(number):
    assert id_card_problem(number) is None


def test_the_published_gb11643_example_has_check_digit_x():
    assert id_card_check_digit("11010519491231002") == "X"


@pytest.mark.parametrize("number,why", [
    ("430124198001011232", "check digit"),
    ("43012419800101123", "17 digits"),
    ("4301241980010112311", "17 digits"),
    ("430124198002301231", "birth date"),
    ("00012419800101123X", "province"),
    ("43012418000101123X", "plausible"),
    ("43012419800101123Y", "17 digits"),
])
def test_invalid_id_cards_say_why(number, why):
    assert why in id_card_problem(number)


birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31))


@given(region=st.sampled_from(["110101", "430124", "510107", "650102"]), born=birth_dates,
       serial=st.integers(0, 999))
def test_any_number_with_its_computed_check_digit_is_valid_and_any_other_digit_is_not(region, born, serial):
    first17 = f"{region}{born:%Y%m%d}{serial:03d}"
    assert id_card_problem(first17 + id_card_check_digit(first17)) is None
    for wrong in set("0123456789X") - {id_card_check_digit(first17)}:
        assert id_card_problem(first17 + wrong) is not None


def test_a_lowercase_x_is_accepted_and_stored_uppercase():
    applicant = parse(Applicant, {"name": "张三", "phone": "13812345678", "id_card": "11010519491231002x",
                                  "village_code": "431099101001"})
    assert applicant.id_card == "11010519491231002X"


@pytest.mark.parametrize("phone,ok", [("13812345678", True), ("19912345678", True), ("12812345678", False),
                                      ("1381234567", False), ("+8613812345678", False), ("0731-8812345", False)])
def test_mainland_mobile_numbers(phone, ok):
    assert is_mobile(phone) is ok


def test_applicant_contract_rejects_bad_phone_and_id_naming_the_field():
    with pytest.raises(ValidationFailed) as err:
        parse(Applicant, {"name": "张三", "phone": "12345", "id_card": "430124198001011232",
                          "village_code": "431099101001"})
    fields = {d["field"] for d in err.value.details}
    assert fields == {"phone", "id_card"}
    assert "check digit" in str(err.value.details)


def test_masks_keep_just_enough_to_recognise():
    assert mask_id_card("110101199003071234") == "110***********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三") == "张*" and mask_name("欧阳小明") == "欧***" and mask_name("李") == "*"


def _key(key_id: str, byte: bytes) -> str:
    return f"{key_id}:{base64.b64encode(byte * 32).decode()}"


def test_encryption_round_trips_and_never_stores_plaintext():
    vault = PersonalDataVault(_key("k1", b"a"))
    token = vault.encrypt("430124198001011231")
    assert "430124198001011231" not in token and token.startswith("k1:")
    assert vault.decrypt(token) == "430124198001011231"
    assert vault.encrypt("same") != vault.encrypt("same")  # a fresh nonce each time


def test_rotation_new_key_encrypts_old_key_still_decrypts():
    old = PersonalDataVault(_key("k1", b"a"))
    token = old.encrypt("13812345678")
    rotated = PersonalDataVault(",".join([_key("k2", b"b"), _key("k1", b"a")]))
    assert rotated.decrypt(token) == "13812345678"
    assert rotated.needs_rotation(token) and not rotated.needs_rotation(rotated.encrypt("x"))
    with pytest.raises(ValueError, match="k1"):
        PersonalDataVault(_key("k2", b"b")).decrypt(token)


def test_tampered_ciphertext_is_refused():
    vault = PersonalDataVault(_key("k1", b"a"))
    key_id, payload = vault.encrypt("张三").split(":")
    raw = bytearray(base64.b64decode(payload))
    raw[-1] ^= 1
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        vault.decrypt(f"{key_id}:{base64.b64encode(bytes(raw)).decode()}")


def test_search_hash_is_stable_keyed_and_case_insensitive():
    vault = PersonalDataVault(_key("k1", b"a"))
    assert vault.search_hash("11010519491231002x") == vault.search_hash("11010519491231002X")
    assert vault.search_hash("x") != PersonalDataVault(_key("k1", b"c")).search_hash("x")


@pytest.mark.parametrize("keys", ["", "k1", "k1:" + base64.b64encode(b"short").decode(), ":abc"])
def test_bad_key_configuration_is_refused(keys):
    with pytest.raises(ValueError):
        PersonalDataVault(keys)
