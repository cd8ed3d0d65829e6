"""A county's account with its SMS provider, as stored in county_settings.provider_settings: plain settings
as they are, secrets (AccessKey secret, the http provider's shared secret, the callback token) encrypted
with the vault. Checked per provider when saved; shown with secrets masked; opened (decrypted) only to
build the provider and to verify its callbacks."""
from __future__ import annotations

from typing import Any

from shared.contracts import notifications as c
from shared.errors import ValidationFailed
from shared.pii import PersonalDataVault

SECRETS = frozenset(c.SECRET_SETTINGS)
REQUIRED: dict[str, tuple[str, ...]] = {
    "log": (),
    "aliyun": ("access_key_id", "access_key_secret", "callback_token"),
    "tencent": ("access_key_id", "access_key_secret", "sdk_app_id", "callback_token"),
    "http": ("http_url", "http_secret"),
}


def stored(provider: str, given: c.ProviderSettings, previous: dict[str, Any] | None,
           vault: PersonalDataVault | None) -> dict[str, Any]:
    """What to store: a setting given replaces the stored one (given as null: removed), one not given keeps
    it (so a county changing its quiet hours need not send its secrets again, and one switching back to a
    provider finds its account). ValidationFailed names every setting the provider needs and does not
    have (code provider_settings_invalid)."""
    merged: dict[str, Any] = dict(previous or {})
    for name in given.model_fields_set:
        value = getattr(given, name)
        if value is None:
            merged.pop(name, None)
        elif name in SECRETS:
            if vault is None:
                raise ValidationFailed("secrets cannot be stored here", [{"field": f"provider_settings.{name}",
                                                                          "message": "no vault"}],
                                       code="provider_settings_invalid")
            merged[name] = vault.encrypt(value)
        else:
            merged[name] = value
    missing = [name for name in REQUIRED.get(provider, ()) if not merged.get(name)]
    if missing:
        raise ValidationFailed(f"the {provider} provider needs " + ", ".join(missing),
                               [{"field": f"provider_settings.{name}", "message": f"required by {provider}"}
                                for name in missing], code="provider_settings_invalid")
    return merged


def view(stored_settings: dict[str, Any] | None) -> c.ProviderSettingsView:
    s = stored_settings or {}
    key_id = s.get("access_key_id")
    return c.ProviderSettingsView(
        access_key_id=_masked(key_id) if key_id else None, access_key_secret=bool(s.get("access_key_secret")),
        sdk_app_id=s.get("sdk_app_id"), region=s.get("region"), endpoint=s.get("endpoint"),
        http_url=s.get("http_url"), http_secret=bool(s.get("http_secret")),
        callback_token=bool(s.get("callback_token")))


def opened(stored_settings: dict[str, Any] | None, vault: PersonalDataVault) -> dict[str, Any]:
    """The settings with their secrets decrypted (to build the provider, to verify a callback)."""
    return {name: vault.decrypt(value) if name in SECRETS and value else value
            for name, value in (stored_settings or {}).items()}


def endpoint_and_protocol(endpoint: str | None) -> tuple[str | None, str]:
    """An endpoint setting ("host[:port]", or with http:// for a county's test stand-in) for the SDKs."""
    if not endpoint:
        return None, "https"
    protocol, _, host = endpoint.rpartition("://")
    return host.rstrip("/"), protocol or "https"


def _masked(value: str) -> str:
    return value if len(value) <= 8 else f"{value[:4]}…{value[-4:]}"
