"""How a county sends (its settings or the defaults, its templates or the notices' own texts), and what a
county configures and reads: its sending settings, its templates (checked when saved, and previewed), and
the messages it sent — with masked numbers only. A township's supervisor reads their
county's settings and templates and their own township's messages; the county's admin changes them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from services.notifications.adapters.repositories import NotificationsUnitOfWork
from services.notifications.domain import sending as s
from services.notifications.domain.notices import NOTICES, VARIABLES
from services.notifications.domain.templates import Template, checked, default_template, sample_values, segments
from services.notifications.service_layer import provider_settings
from shared.contracts import notifications as c
from shared.contracts.caller import Caller
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.pii import PersonalDataVault

# ---- how a county sends ------------------------------------------------------------------------------------

DEFAULT_SIGNATURE = "村办"


@dataclass(frozen=True)
class County:
    """How one county sends (its settings row, or the defaults: the `log` provider, 21:00–08:00, 10 a day)."""

    code: str
    provider: str
    signature: str
    policy: s.Policy


def county(uow: NotificationsUnitOfWork, code: str) -> County:
    row = uow.county_settings.get(code)
    if row is None:
        return County(code=code, provider="log", signature=DEFAULT_SIGNATURE, policy=s.Policy())
    quiet = s.QuietHours(start=time.fromisoformat(row.quiet_start), end=time.fromisoformat(row.quiet_end))
    return County(code=code, provider=row.provider, signature=row.signature,
                  policy=s.Policy(quiet=quiet, daily_cap=row.daily_cap, urgent=frozenset(row.urgent),
                                  staff_sms=row.staff_sms))


def template(uow: NotificationsUnitOfWork, where: County, kind: str) -> tuple[Template, str | None]:
    """The county's template for a notice (its starting text until the county saves its own), and the id
    the county registered it under with its provider."""
    row = uow.templates.get(where.code, kind)
    if row is None:
        return default_template(kind, where.signature), None
    return Template(kind=kind, signature=where.signature, text=row.text), row.provider_template


# ---- what a county configures and reads --------------------------------------------------------------------

def _require_county(caller: Caller, county_code: str) -> None:
    if caller.sees_county(county_code):
        return
    raise Forbidden("this is another county's", code="out_of_scope")


def _notice(kind: str):
    notice = NOTICES.get(kind)
    if notice is None:
        raise NotFound(f"no notice is called {kind!r}", code="notice_not_found")
    return notice


def get_settings(uow: NotificationsUnitOfWork, *, caller: Caller, county_code: str) -> c.CountySettingsView:
    _require_county(caller, county_code)
    row = uow.county_settings.get(county_code)
    if row is None:
        return c.CountySettingsView(county_code=county_code, updated_at=None)
    return c.CountySettingsView(county_code=county_code, provider=row.provider, signature=row.signature,
                                quiet_start=row.quiet_start, quiet_end=row.quiet_end, daily_cap=row.daily_cap,
                                urgent=row.urgent, staff_sms=row.staff_sms, updated_at=row.updated_at,
                                provider_settings=provider_settings.view(row.provider_settings))


def set_settings(uow: NotificationsUnitOfWork, *, caller: Caller, county_code: str, cmd: c.CountySettings,
                 now: datetime, vault: PersonalDataVault | None = None) -> c.CountySettingsView:
    """Save a county's settings. Only providers this platform has are accepted, with the settings each
    needs (secrets encrypted with the vault); urgent names notices."""
    _require_county(caller, county_code)
    unknown = [kind for kind in cmd.urgent if kind not in NOTICES]
    if unknown:
        raise ValidationFailed("urgent names notices that do not exist",
                               [{"field": "urgent", "message": kind} for kind in unknown], code="notice_unknown")
    row = uow.county_settings.get(county_code)
    account = provider_settings.stored(cmd.provider, cmd.provider_settings, row.provider_settings if row else None,
                                       vault)
    uow.county_settings.save(county_code, {**cmd.model_dump(), "provider_settings": account, "updated_at": now})
    uow.commit()
    return get_settings(uow, caller=caller, county_code=county_code)


def _view(uow: NotificationsUnitOfWork, county_code: str, kind: str) -> c.TemplateView:
    notice = _notice(kind)
    current, provider_template = template(uow, county(uow, county_code), kind)
    longest = current.longest()
    return c.TemplateView(
        kind=kind, name=notice.name, audience=notice.audience.value,
        variables=[c.VariableView(name=n, description=VARIABLES[n].description) for n in notice.variables],
        text=current.text, own=uow.templates.get(county_code, kind) is not None,
        provider_template=provider_template, urgent=notice.urgent, required=notice.required, longest=longest,
        segments=segments(longest))


def list_templates(uow: NotificationsUnitOfWork, *, caller: Caller, county_code: str) -> list[c.TemplateView]:
    _require_county(caller, county_code)
    return [_view(uow, county_code, kind) for kind in NOTICES]


def save_template(uow: NotificationsUnitOfWork, *, caller: Caller, county_code: str, kind: str, cmd: c.TemplateSave,
                  now: datetime) -> c.TemplateView:
    """A county's own text for a notice: every variable it uses must be the notice's, and its longest
    message must fit in three SMS (templates.checked). Messages not yet sent use it."""
    _require_county(caller, county_code)
    _notice(kind)
    checked(kind, county(uow, county_code).signature, cmd.text)
    uow.templates.save(county_code, kind, {"text": cmd.text, "provider_template": cmd.provider_template,
                                           "updated_at": now, "updated_by": caller.username or "?"})
    uow.commit()
    return _view(uow, county_code, kind)


def preview(uow: NotificationsUnitOfWork, *, caller: Caller, county_code: str, kind: str,
            cmd: c.PreviewRequest) -> c.Preview:
    """The message as a phone would show it: the draft (checked as if saved) or the current template, with
    the given values and samples for the rest."""
    _require_county(caller, county_code)
    _notice(kind)
    where = county(uow, county_code)
    draft: Template = checked(kind, where.signature, cmd.text) if cmd.text else template(uow, where, kind)[0]
    text = draft.render({**sample_values(kind), **cmd.values})
    return c.Preview(text=text, length=len(text), segments=segments(len(text)))


def messages(uow: NotificationsUnitOfWork, *, caller: Caller, query: c.MessageQuery) -> c.MessagePage:
    """Messages newest first, of the caller's township (a county role: all, or the township it names)."""
    if query.township_code is not None and not caller.sees_township(query.township_code):
        raise Forbidden("this township is not yours", code="out_of_scope")
    found = uow.messages.listed(caller, query, limit=query.limit + 1)  # one more: is there a next page?
    page = found[:query.limit]
    return c.MessagePage(
        items=[c.MessageView(id=r.id, kind=r.kind, audience=r.audience, township_code=r.township_code,
                             phone_masked=r.phone_masked, text=r.text, status=r.status, withheld=r.withheld,
                             attempts=r.attempts, error=r.error, provider=r.provider, created_at=r.created_at,
                             send_after=r.send_after, sent_at=r.sent_at) for r in page],
        next_after=page[-1].id if len(found) > query.limit else None)

