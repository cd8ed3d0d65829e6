"""How a page is made: Jinja2 templates with the pages' filters, the form's CSRF token, and errors shown as
a page in Chinese instead of the API's JSON.

Every page route is declared with `PAGE` (`@router.get(..., **PAGE)`): it is left out of the OpenAPI
document, and a typed error it does not handle itself becomes the error page (a signed-out console visitor
goes to the sign-in page instead). Pages call the services with `calls.call(...)`, as the API does, so the
access matrix decides what a page may do."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import Path as InPath
from fastapi import Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.datastructures import FormData

from gateway.pages import nav, words
from shared.clock import CHINA
from shared.errors import CunbanError, Forbidden

HERE = Path(__file__).parent
CSRF_COOKIE = "cunban_csrf"
CSRF_FIELD = "csrf_token"
SIGN_IN = "/console/login"


def china_time(value: datetime | str | None, pattern: str = "%Y年%m月%d日 %H:%M") -> str:
    """A moment in China's time (Asia/Shanghai), whatever zone it was written in."""
    if value in (None, ""):
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(CHINA).strftime(pattern) if moment.tzinfo else moment.strftime(pattern)


def day_time(value: datetime | str | None) -> str:
    """A moment as a villager says it, in China time: 12月5日 07:30."""
    return china_time(value, "%-m月%-d日 %H:%M")


def china_date(value: date | str | None) -> str:
    if value in (None, ""):
        return ""
    day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if isinstance(day, datetime):
        day = day.astimezone(CHINA).date() if day.tzinfo else day.date()
    return f"{day.year}年{day.month}月{day.day}日"


def _word(table: dict[str, str]) -> Callable[[Any], str]:
    return lambda code: table.get(str(getattr(code, "value", code)), str(code or ""))


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(
    china_time=china_time, china_date=china_date, status=_word(words.APPLICATION_STATUS),
    outcome=_word(words.OUTCOME), channel=_word(words.CHANNEL), role=_word(words.ROLE),
    complaint_kind=_word(words.COMPLAINT_KIND), stage=_word(words.STAGE),
    complaint_status=_word(words.COMPLAINT_STATUS), visit_kind=_word(words.VISIT_KIND), day_time=day_time,
    service=_word(words.SERVICE), booking=_word(words.BOOKING_STATUS))
templates.env.globals.update(places_for=nav.places_for, header_for=nav.header_for)


# ---- CSRF: a random cookie per browser, and in every form a token only this site can derive from it ------

def _csrf_cookie(request: Request) -> str:
    value = getattr(request.state, "csrf_cookie", None) or request.cookies.get(CSRF_COOKIE, "")
    if len(value) != 32:
        value = secrets.token_hex(16)
        request.state.new_csrf_cookie = value
    request.state.csrf_cookie = value
    return value


def csrf_token(request: Request) -> str:
    key = request.app.state.settings.secret_key.encode()
    return hmac.new(key, f"csrf:{_csrf_cookie(request)}".encode(), hashlib.sha256).hexdigest()


class FormExpired(Forbidden):
    code = "form_expired"


async def read_form(request: Request) -> FormData:
    """The submitted form, after its CSRF token matched this browser's cookie (403 `form_expired` if not)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not request.cookies.get(CSRF_COOKIE) or not isinstance(sent, str) \
            or not hmac.compare_digest(sent, csrf_token(request)):
        raise FormExpired("the form's token does not match this browser: open the page again")
    return form


def text(form: Any, name: str, limit: int) -> str:
    """A text field of a form, trimmed and cut at `limit` (a file or a missing field: empty)."""
    value = form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def typed_fields(form: FormData, limit: int = 2000) -> dict[str, str]:
    """Every text field of a form as typed (trimmed, cut at `limit`), to validate and to show again."""
    return {name: value.strip()[:limit] for name, value in form.items()
            if isinstance(value, str) and name != CSRF_FIELD}


def field_errors(exc: ValidationError, names: Mapping[str, str], *, across: str = "form",
                 default: str = "这一项填写有误，请检查。", labels: Mapping[str, str] | None = None) -> dict[str, str]:
    """A contract's validation errors as a Chinese sentence next to each field: a field is named by its path
    (`complainant.phone`), or by its last part where `names` knows only that; an error across fields goes to
    `across`. A field `names` has no sentence for is said by its label (`labels`): 请填写调解经过。 when it was
    left empty, 调解经过填写有误，请检查。 when what was typed is wrong."""
    errors: dict[str, str] = {}
    labels = labels or {}
    for error in exc.errors():
        parts = [str(part) for part in error["loc"] if not isinstance(part, int)]
        field = ".".join(parts) or across
        if field not in names and field not in labels and parts and parts[-1] in {**names, **labels}:
            field = parts[-1]
        if field in names:
            said = names[field]
        elif field in labels:
            empty = error["type"] == "missing" or error.get("input") in (None, "")
            said = f"请填写{labels[field]}。" if empty else f"{labels[field]}填写有误，请检查。"
        else:
            said = default
        errors.setdefault(field, said)
    return errors


def service_errors(exc: CunbanError, names: Mapping[str, str]) -> dict[str, str]:
    """A service's field errors (`details: [{"field": …}]`) as the Chinese sentence beside each field."""
    errors: dict[str, str] = {}
    for detail in exc.details if isinstance(exc.details, list) else []:
        field = str(detail.get("field", "")) if isinstance(detail, dict) else ""
        last = field.rsplit(".", 1)[-1]
        if field in names or last in names:
            key = field if field in names else last
            errors.setdefault(key, names[key])
    return errors


# ---- a posted form: checked in one pass, then sent, or shown again with what to fix beside each field -------

Command = TypeVar("Command")
Again = Callable[[int, dict[str, str], str], Awaitable[Response]]  # (status, errors by field, message) → page


def missing(typed: Mapping[str, Any], required: Mapping[str, str]) -> dict[str, str]:
    """Each required field left empty (nothing typed, chosen or ticked), with what to say beside it."""
    return {name: said for name, said in required.items() if typed.get(name) in (None, "", [], ())}


async def submit(again: Again, contract: Callable[[], Command], send: Callable[[Command], Awaitable[Response]], *,
                 fields: Mapping[str, str], typed: Mapping[str, Any] | None = None,
                 required: Mapping[str, str] | None = None, across: str = "form",
                 labels: Mapping[str, str] | None = None,
                 refused: Callable[[CunbanError], dict[str, str]] | None = None,
                 say: Callable[[CunbanError], str] = words.error_message) -> Response:
    """A posted form, handled the same way everywhere:

    1. every `required` field left empty and every field the `contract` refuses is found in ONE pass and
       said beside its field (a rule across fields is said only when nothing is missing: it is usually
       broken by what is missing) → `again(422, errors, message)`;
    2. else the command goes to `send` (which calls the service and answers, usually with a redirect);
    3. a refusal by the service → `again(its status, errors, its sentence)`: the fields its details name
       (`refused` says them otherwise), and the message from its code (`say`)."""
    errors = missing(typed or {}, required or {})
    try:
        command = contract()
    except ValidationError as exc:
        # a rule across fields is usually broken by what is missing: then it is not said again
        found = field_errors(exc, fields, across=across if not errors else "", default=words.BY_STATUS[422],
                             labels=labels)
        found.pop("", None)
        errors = {**found, **errors}
    if errors:
        return await again(422, errors, words.BY_STATUS[422])
    try:
        return await send(command)
    except CunbanError as exc:
        return await again(exc.http_status, refused(exc) if refused else service_errors(exc, fields), say(exc))


# ---- rendering ---------------------------------------------------------------------------------------------

def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """A page from its template, with what every page needs: the CSRF token for its forms and who is signed
    in. A page for a signed-in person is never kept by a cache on the way."""
    staff = getattr(request.state, "caller", None)
    response = templates.TemplateResponse(request, template, status_code=status_code,
                                          context={"csrf_token": csrf_token(request), "staff": staff, **context})
    if (new := getattr(request.state, "new_csrf_cookie", None)) is not None:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict", secure=is_https(request), path="/")
    return no_store(response) if staff is not None else response


def no_store(response: Response) -> Response:
    """A page that shows what only its visitor should see again: no cache on the way keeps it."""
    response.headers["Cache-Control"] = "no-store"
    return response


def is_https(request: Request) -> bool:
    """Served over TLS: directly, or behind the county's ingress that says so (a trusted proxy)."""
    if request.url.scheme == "https":
        return True
    trusted = bool(getattr(request.app.state, "trusted_proxies", ()))
    return trusted and request.headers.get("x-forwarded-proto", "") == "https"


def see_other(url: str) -> RedirectResponse:
    """After a form is handled: go to the page that shows its result (a reload does not post again)."""
    return RedirectResponse(url, status_code=303)


# ---- an answer to show once, after the redirect -------------------------------------------------------------

ONCE_COOKIE = "cunban_once"


def _signature(request: Request, payload: str) -> str:
    key = request.app.state.settings.secret_key.encode()
    return hmac.new(key, f"once:{payload}".encode(), hashlib.sha256).hexdigest()


def see_once(request: Request, url: str, answer: dict[str, Any], seconds: int = 600) -> RedirectResponse:
    """After a form whose answer nobody can ask for again (an anonymous complaint's look-up code, a booking's
    number): go to the page at `url` — so a reload there posts nothing again — with the answer in a signed,
    HttpOnly cookie sent only to that page, for `seconds`. The page reads it with `answer_once`."""
    payload = base64.urlsafe_b64encode(json.dumps(answer, ensure_ascii=False).encode()).decode()
    response = see_other(url)
    response.set_cookie(ONCE_COOKIE, f"{payload}.{_signature(request, payload)}", max_age=seconds, httponly=True,
                        samesite="strict", secure=is_https(request), path=url.split("?")[0])
    return response


def answer_once(request: Request) -> dict[str, Any] | None:
    """The answer `see_once` left for this page, if it is still there and was signed here."""
    payload, _, signature = request.cookies.get(ONCE_COOKIE, "").partition(".")
    if not payload or not hmac.compare_digest(signature, _signature(request, payload)):
        return None
    try:
        answer = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


ONCE_BYTES = 2800  # what an answer may take in its cookie (a browser keeps a cookie of up to 4096 bytes)


def see_refused(request: Request, url: str, errors: Mapping[str, str], message: str,
                typed: Mapping[str, Any] | None = None, **more: Any) -> RedirectResponse:
    """A form refused on a page that holds several (a case's actions): back to the page's own address — so a
    reload there posts nothing again — where `answer_once` finds what to fix beside each field, once, and
    what was typed (the longest values are left out when they would not fit in the cookie)."""
    kept = dict(typed or {})
    answer = {"refused": {"errors": dict(errors), "message": message, "typed": kept, **more}}
    while kept and len(json.dumps(answer, ensure_ascii=False).encode()) > ONCE_BYTES:
        kept.pop(max(kept, key=lambda name: len(str(kept[name]))))
    return see_once(request, url, answer)


def refused_once(answer: dict[str, Any] | None) -> dict[str, Any]:
    """What `see_refused` left for this page (errors, message, typed …), or nothing."""
    refused = (answer or {}).get("refused")
    return refused if isinstance(refused, dict) else {}


def forget_answer(request: Request, response: Response) -> Response:
    """Shown: a reload finds nothing more to show (and nothing is ever posted again)."""
    response.delete_cookie(ONCE_COOKIE, path=request.url.path, httponly=True, samesite="strict")
    return no_store(response)


class PageRoute(APIRoute):
    """A page: typed errors it leaves unhandled become the error page in Chinese (or, signed out in the
    console, the sign-in page), and invalid query or path values the 'check what you entered' page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except CunbanError as exc:
                if exc.http_status == 401 and request.url.path.startswith("/console"):
                    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    return see_other(f"{SIGN_IN}?next={quote(target, safe='')}")
                return render(request, "error.html", status_code=exc.http_status,
                              message=words.error_message(exc), code=exc.code)
            except RequestValidationError as exc:
                if any(error["loc"][:1] == ("path",) for error in exc.errors()):  # a mistyped or cut-off address
                    return not_found_page(request)
                return render(request, "error.html", status_code=422, message=words.ADDRESS_INVALID,
                              code="validation_failed")
        return page


def not_found_page(request: Request) -> Response:
    """An address nobody serves, or one whose number is wrong (a cut-off QR link, a typo): said in Chinese."""
    request.state.caller = None  # the error frame is the same whoever asks
    return render(request, "error.html", status_code=404, message=words.PAGE_NOT_FOUND, code="route_not_found")


PAGE: dict[str, Any] = {"include_in_schema": False}
CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$"  # a catalogue item's code, as the directory's RecordCode
ItemCode = Annotated[str, InPath(pattern=CODE)]
SessionPath = Annotated[str, InPath(pattern=r"^[0-9a-f]{32}$")]  # a market-day session's id
# filters of a GET form: a filter left at 全部 comes as an empty value
ItemFilter = Annotated[str | None, Query(pattern=r"^([A-Za-z0-9][A-Za-z0-9_-]{1,31})?$")]
VillageFilter = Annotated[str | None, Query(pattern=r"^(\d{12})?$")]
TownshipQuery = Annotated[str | None, Query(pattern=r"^(\d{9})?$")]  # a county admin's chosen township
