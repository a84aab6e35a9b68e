"""The decision service: `stratdsl serve` — a questionnaire in the browser and a JSON API.

The web questionnaire is plain HTML forms (no JavaScript, nothing loaded from
the network), built from the policy's input declarations like the terminal
one, in French or English; it ends on the pre-diagnosis with the report's
charts and downloads of the assessment (YAML) and the report (HTML). Its pages are
Jinja2 templates (pages.py, templates/): this module builds their contexts. The JSON
API evaluates, explains, and gives the assessment's JSON Schema and the
policy's metadata; its errors carry the CLI's codes. Bodies above
`max_body` bytes are refused. Decisions made here go to the audit log when
one is configured.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections import deque
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..engine import explain, outcomes, parse_params, run
from ..language import ir
from ..language.diagnostics import Diagnostic, StratError
from ..language.messages import translate
from ..language.types import BoolT, TextT
from ..provenance import audit
from ..provenance.records import decision_records, provenance
from ..render import labels
from ..render.catalogue import gettext_for, table
from ..render.json_out import explanation_json, result_json
from ..runtime.assessment import json_schema, validate
from ..runtime.relevance import irrelevant_answers
from ..runtime.values import format_value
from .pages import CSRF_FIELD, PageError, Pages, Theme, ThemeOptions, check_pages, load_theme
from .questionnaire import (
    NO,
    YES,
    AnswerError,
    Question,
    get_answer,
    next_questions,
    parse_answer,
    questions,
    relevant_now,
    set_answer,
    slug,
    summary_decisions,
    to_yaml,
)

MAX_BODY = 1_000_000
MAX_BLOCKS = 10  # entries of one repeated input in the web form
MAX_NESTING = 64
FORM_PATHS = ("/questionnaire",)  # a body too large for these gets an HTML page, not JSON
NONE = "[]"  # the checkbox value of a list answered "none": no choice can be spelled so


def _exact(value: Any, depth: int = 0) -> Any:
    """JSON numbers reach us as floats; their shortest repr is the number the client wrote."""
    if depth > MAX_NESTING:
        raise StratError([Diagnostic("E307", f"the assessment is nested more than {MAX_NESTING} levels deep")])
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _exact(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v, depth + 1) for v in value]
    return value


def _counts(policy: ir.CheckedPolicy, form: dict[str, Any]) -> dict[str, int]:
    """How many blocks each repeated input shows in the web form (1 to MAX_BLOCKS)."""
    out = {}
    for item in policy.inputs.values():
        if item.kind == "many":
            raw = str(form.get(f"n.{item.name}", "1"))
            out[item.name] = max(1, min(int(raw), MAX_BLOCKS)) if raw.isdecimal() and raw.isascii() else 1
    return out


class _ExactRequest(Request):
    """A JSON body read with its numbers as exact decimals, as `parse_data` reads a file:
    `0.1` stays 0.1 and `1e-999999` stays 1e-999999 (then refused by the assessment model's
    bounds) instead of silently becoming the float 0.0."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), parse_float=Decimal)
        return self._json


#: when the request being handled reached its route (time.monotonic()): its wait for an
#: evaluation slot counts from there, including any wait for a thread of the pool
_ARRIVED: ContextVar[float | None] = ContextVar("stratdsl_arrived", default=None)


class _ExactRoute(APIRoute):
    def get_route_handler(self) -> Any:
        handler = super().get_route_handler()

        async def exact(request: Request) -> Response:
            _ARRIVED.set(time.monotonic())  # copied into the thread that runs a sync handler
            return await handler(_ExactRequest(request.scope, request.receive))

        return exact


class EvaluateRequest(BaseModel):
    assessment: dict[str, Any] = Field(description="The assessment, shaped as GET /api/v1/schema says")
    as_of: date | None = Field(None, description="Evaluate as in force on this date (default: today)")
    params: dict[str, str] = Field(default_factory=dict, description="Parameter overrides, name → value")
    decision: str | None = Field(None, description="Only this decision")
    lang: Literal["fr", "en"] = "fr"
    outcomes_only: bool = Field(
        False, description="Only each decision's outcome (null when undetermined): no statuses, citations, values or obligations; the fastest answer"
    )


#: the most seconds an explain request may give the solver per entity (the service's CPU is shared)
MAX_WHY_NOT_BUDGET = 30


class ExplainRequest(BaseModel):
    assessment: dict[str, Any]
    decision: str
    entity: str | None = None
    why_not: str | None = None
    keep: list[str] = Field(default_factory=list, description="With why_not: facts the closest change must not touch (fields declared `fixed` are always kept).")
    budget: float = Field(
        5, gt=0, le=MAX_WHY_NOT_BUDGET,
        description="With why_not: the search's budget per entity, in seconds of work (counted in solver steps and evaluations, not on the clock: the same answer on every machine); past it the answer says 'unknown within the time budget: a larger budget may find a change'.",
    )
    as_of: date | None = None
    params: dict[str, str] = Field(default_factory=dict)
    lang: Literal["fr", "en"] = "fr"


class ErrorItem(BaseModel):
    code: str
    severity: str
    message: str
    span: dict[str, Any] | None = None
    hint: str | None = None
    notes: list[dict[str, Any]] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """Every error of the API: the same codes and messages as the command line."""

    errors: list[ErrorItem]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorBody, "description": "The body is too large (E311)"},
    422: {"model": ErrorBody, "description": "The request or the assessment is not valid"},
}


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
#: evaluations one worker process runs at once (`--max-evaluations`, STRATDSL_SERVE_MAX_EVALUATIONS):
#: a worker evaluates on one core at a time (Python's interpreter lock), so more slots only share
#: that core and lengthen every answer; two let a long why-not search (its solver runs outside
#: the lock) leave room for the rest. Capacity grows with `--workers` (one per core), each with
#: its own slots.
MAX_EVALUATIONS = 2
#: seconds a request waits for a slot, from its arrival, before 503 + Retry-After (E313)
#: (`--queue-wait`, STRATDSL_SERVE_QUEUE_WAIT; 0: refuse at once)
QUEUE_WAIT = 0.5
MAX_QUEUE_WAIT = 30
RETRY_AFTER = 2  # seconds, in the Retry-After header of a 503
CSRF_COOKIE = "stratdsl_csrf"
HEALTH_PATH = "/api/v1/policy"  # the policy's name, version and hash: open to health checks, whatever the keys


@dataclass(frozen=True)
class Security:
    """Who may talk to the service, and how much at once (docs/service.md, "Security").

    `allowed_hosts`: the Host header values (without port) served — DNS rebinding makes a
    victim's browser send requests to 127.0.0.1 under the attacker's host name; "*" serves
    any. `api_keys`: when any, every /api/ request needs one (`Authorization: Bearer KEY`
    or `X-API-Key: KEY`). `auth_header`: a header a trusted reverse proxy sets after it
    authenticated the user; when given, every request must carry it. Both leave
    HEALTH_PATH open, for health checks. `secret`: signs the CSRF tokens of the web form.
    `max_evaluations`: evaluations one worker process runs at once; a request that finds them
    all taken waits for one at most `queue_wait` seconds, then gets 503 (E313)."""

    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    api_keys: tuple[str, ...] = ()
    auth_header: str | None = None
    max_evaluations: int = MAX_EVALUATIONS
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    queue_wait: float = QUEUE_WAIT


def host_of(header: str) -> str:
    """The host name of a Host (or Origin netloc) header, lower case, without port or brackets."""
    value = header.strip().lower()
    if value.startswith("["):  # [::1]:8000
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_allowed(header: str, allowed: tuple[str, ...]) -> bool:
    return "*" in allowed or host_of(header) in allowed


def origin_allowed(origin: str, host_header: str) -> bool:
    """A cross-site POST (CSRF) is refused: when the browser says where the request comes from,
    it must be this very site (same scheme-less host and port as the Host header)."""
    if origin == "null":
        return False
    netloc = urlsplit(origin).netloc.lower()
    return bool(netloc) and netloc == host_header.strip().lower()


def csrf_token(secret: bytes, cookie: str) -> str:
    """The form token for a browser's CSRF cookie: HMAC-SHA256 of the cookie under the
    service's secret (signed double submit: another site can neither read the token nor set
    the cookie for this one)."""
    return hmac.new(secret, b"stratdsl-form:" + cookie.encode("utf-8", "replace"), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, cookie: str | None, token: Any) -> bool:
    if not cookie or not isinstance(token, str) or len(cookie) > 200:
        return False
    return hmac.compare_digest(csrf_token(secret, cookie), token)


def api_key_ok(keys: tuple[str, ...], headers: dict[bytes, bytes]) -> bool:
    given = headers.get(b"x-api-key", b"").decode("latin-1").strip()
    auth = headers.get(b"authorization", b"").decode("latin-1").strip()
    if not given and auth[:7].lower() == "bearer ":
        given = auth[7:].strip()
    # compare with every key, always: the time taken does not say which key came close
    return bool(given) and sum(hmac.compare_digest(given.encode(), k.encode()) for k in keys) > 0


class _Gate:
    """ASGI middleware, outermost: Host (DNS rebinding), Origin (cross-site requests), the
    trusted proxy's header and the API keys are checked before anything is read or run."""

    def __init__(self, app: Any, security: Security, pages: Pages) -> None:
        self.app = app
        self.security = security
        self.pages = pages

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        problem = self._problem(scope, headers)
        if problem is None:
            await self.app(scope, receive, send)
            return
        status, diagnostic, extra = problem
        if scope.get("path") in FORM_PATHS or scope.get("path") == "/":
            lang = "en" if headers.get(b"accept-language", b"").strip().lower().startswith(b"en") else "fr"
            response: Response = _html(lambda: _message(self.pages, lang, "refused", diagnostic.message), status)
        else:
            response = _errors([diagnostic], status)
        response.headers.update({**extra, "connection": "close"})
        await response(scope, receive, send)

    def _problem(self, scope: Any, headers: dict[bytes, bytes]) -> tuple[int, Diagnostic, dict[str, str]] | None:
        sec = self.security
        host = headers.get(b"host", b"").decode("latin-1")
        path = scope.get("path", "")
        if not host_allowed(host, sec.allowed_hosts):
            shown = host[:100] or "(none)"
            return 421, Diagnostic("E314", f"this service does not answer for the host '{shown}'",
                                   hint="serve it with --allowed-host NAME for each name it is reached by"), {}
        if scope.get("method") not in ("GET", "HEAD", "OPTIONS"):
            origin = headers.get(b"origin", b"").decode("latin-1")
            fetch_site = headers.get(b"sec-fetch-site", b"").decode("latin-1").lower()
            if (origin and not origin_allowed(origin, host)) or fetch_site == "cross-site":
                return 403, Diagnostic("E315", f"a request from another site ({(origin or fetch_site)[:100]}) is refused"), {}
        if sec.auth_header is not None and path != HEALTH_PATH:
            if not headers.get(sec.auth_header.lower().encode("latin-1"), b"").strip():
                return 401, Diagnostic("E316", f"the request does not carry the header {sec.auth_header} that the authenticating proxy sets",
                                       hint="reach the service through its proxy"), {}
        if sec.api_keys and path.startswith("/api/") and path != HEALTH_PATH and not api_key_ok(sec.api_keys, headers):
            return 401, Diagnostic("E316", "this API needs a key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"), {"www-authenticate": "Bearer"}
        return None


class _Busy(Exception):
    """Security.max_evaluations evaluations kept running for the request's whole queue_wait: 503 + Retry-After (E313)."""


class EvaluationSlots:
    """At most `size` evaluations at once in this process. A request that finds every slot
    taken waits for one, up to the time it is given, then is refused (E313): a short burst is
    queued, not refused, and an overload is refused before the waits grow without bound.
    First come, first served: a freed slot passes to the oldest waiting request (a request
    arriving then does not take it first). `running` and `waiting` say how many hold a slot
    and wait for one (tests, no timing)."""

    def __init__(self, size: int) -> None:
        self.size = max(size, 1)
        self.running = 0
        self._lock = threading.Lock()
        self._queue: deque[_Waiter] = deque()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def acquire(self, wait: float) -> bool:
        with self._lock:
            if self.running < self.size and not self._queue:
                self.running += 1
                return True
            if wait <= 0:
                return False
            me = _Waiter(threading.Condition(self._lock))
            self._queue.append(me)
            end = time.monotonic() + wait
            while not me.granted:
                left = end - time.monotonic()
                if left <= 0:
                    self._queue.remove(me)
                    return False
                me.wake.wait(left)
            return True

    def release(self) -> None:
        with self._lock:
            if self._queue:  # the slot passes to the oldest waiter: `running` stays
                first = self._queue.popleft()
                first.granted = True
                first.wake.notify()
            else:
                self.running -= 1


@dataclass(eq=False)  # removed from the queue by identity
class _Waiter:
    wake: threading.Condition
    granted: bool = False


class _BodyLimit:
    """ASGI middleware: refuse a body larger than `limit` bytes, by its Content-Length or, without
    one (chunked), counted as it comes. It is pure ASGI (not BaseHTTPMiddleware) and answers the
    413 itself before the app is called: raised from inside the app's body reader, a 413 became
    FastAPI's 400 on the API and an ExceptionGroup (a 500) on the form."""

    def __init__(self, app: Any, limit: int, pages: Pages) -> None:
        self.app = app
        self.limit = limit
        self.pages = pages

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"").decode("latin-1")
        if length and (not (length.isdecimal() and length.isascii()) or int(length) > self.limit):
            await self._refuse(scope, receive, send, headers)
            return
        # the app reads the whole body anyway: read it here, counting, then hand it over at once
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away: nobody to answer
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._refuse(scope, receive, send, headers)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: the client's disconnect
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Any, receive: Any, send: Any, headers: dict[bytes, bytes]) -> None:
        message = f"the request body is larger than {self.limit} bytes"
        close = {"connection": "close"}  # the rest of the body is not read
        if scope.get("path") in FORM_PATHS:
            lang = "en" if headers.get(b"accept-language", b"").strip().lower().startswith(b"en") else "fr"
            w = _W[lang]
            limit = f"{self.limit:,}".replace(",", "\u00a0" if lang == "fr" else ",")
            response: Response = _html(lambda: _message(self.pages, lang, "too_large", w["too_large_help"].format(limit=limit), back=True), 413, close)
        else:
            response = _errors([Diagnostic("E311", message)], 413)
            response.headers.update(close)
        await response(scope, receive, send)


try:  # optional: the same bytes as json.dumps below, 5-10 x faster on a 170 kB answer
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on what is installed
    _orjson = None


def json_bytes(content: Any) -> bytes:
    """The bytes of Starlette's JSONResponse (compact, UTF-8, no NaN), through orjson when it is
    installed. Both write the same bytes for what the API returns: str keys, str, int, bool, None
    and lists; no float (values.py writes decimals as strings; tests/test_service.py compares the
    bytes of every example's answers). What orjson refuses (an int beyond 64 bits, a non-str key,
    a Decimal) goes through json.dumps, which decides as before."""
    if _orjson is not None:
        try:
            return _orjson.dumps(content)
        except TypeError:
            pass
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


class FastJSONResponse(JSONResponse):
    """A JSONResponse rendered by `json_bytes` (the JSON API's answers)."""

    def render(self, content: Any) -> bytes:
        return json_bytes(content)


def _errors(diagnostics: list[Diagnostic], status: int = 422) -> JSONResponse:
    return FastJSONResponse({"errors": [d.to_json() for d in diagnostics]}, status_code=status)


def create_app(
    policy: ir.CheckedPolicy, audit_log: str | None = None, max_body: int = MAX_BODY, security: Security | None = None, theme: Theme | None = None
) -> FastAPI:
    """The service's app; with a `theme` (`serve --template-dir/--logo/--accent/--company-name`), every
    template is compiled and every page rendered once first: StratError E620–E625 when one fails."""
    # the pages' environment, built once for the app (not per request)
    pages = check_pages(theme, sample_contexts(policy)) if theme is not None and theme != Theme() else default_pages()
    app = FastAPI(
        title=f"stratdsl — {policy.name}",
        version=__version__,
        description=f"Decisions of the policy {policy.name} {policy.version}, with explanations.",
    )
    app.router.route_class = _ExactRoute
    prov = provenance(policy)

    security = security or Security()
    app.add_middleware(_BodyLimit, limit=max_body, pages=pages)
    app.add_middleware(_Gate, security=security, pages=pages)  # added last: runs first
    slots = app.state.evaluation_slots = EvaluationSlots(security.max_evaluations)

    @contextmanager
    def evaluation_slot() -> Any:
        arrived = _ARRIVED.get()
        waited = 0.0 if arrived is None else time.monotonic() - arrived
        if not slots.acquire(security.queue_wait - waited):
            raise _Busy()
        try:
            yield
        finally:
            slots.release()

    @app.exception_handler(_Busy)
    async def busy(request: Request, error: _Busy) -> Response:
        queued = f" and none ended within {security.queue_wait:g} s" if security.queue_wait > 0 else ""
        message = f"{security.max_evaluations} evaluations are already running{queued}: try again in {RETRY_AFTER} s"
        headers = {"retry-after": str(RETRY_AFTER)}
        if request.url.path in FORM_PATHS:
            lang = "en" if request.headers.get("accept-language", "").lower().startswith("en") else "fr"
            return _html(lambda: _message(pages, lang, "busy", _W[lang]["busy_help"]), 503, headers)
        response = _errors([Diagnostic("E313", message)], 503)
        response.headers.update(headers)
        return response

    @app.exception_handler(PageError)
    async def page_error(request: Request, error: PageError) -> Response:
        return HTMLResponse(error.page, status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 404 and error.detail == "Not Found":  # no such route (not a 404 of ours)
            message = f"there is nothing at {request.url.path}"
            return _errors([Diagnostic("E312", message, hint="the routes are listed at /docs (JSON API) and /questionnaire (web form)")], 404)
        if error.status_code == 405:
            message = f"{request.method} is not accepted at {request.url.path}"
            return _errors([Diagnostic("E310", message, hint="the routes and their methods are listed at /docs")], 405)
        code = "E311" if error.status_code == 413 else ("E312" if error.status_code == 404 else "E310")
        return _errors([Diagnostic(code, str(error.detail))], error.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, error: RequestValidationError) -> JSONResponse:
        diags = [
            Diagnostic("E310", f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}")
            for e in error.errors()
        ]
        return _errors(diags)

    @app.exception_handler(StratError)
    async def strat_error(request: Request, error: StratError) -> JSONResponse:
        return _errors(error.diagnostics)

    def _evaluate(data: dict[str, Any], as_of: date | None, params: dict[str, str], trace: bool):
        with evaluation_slot():
            return _evaluate_now(data, as_of, params, trace)

    def _evaluate_now(data: dict[str, Any], as_of: date | None, params: dict[str, str], trace: bool):
        assessment = validate(policy, _exact(data), "request")
        overrides = parse_params(policy, [f"{k}={v}" for k, v in params.items()])
        when = as_of or date.today()
        result, tracer = run(policy, assessment, when, overrides, trace=trace or audit_log is not None)
        if audit_log is not None:
            evaluation, records = decision_records(policy, assessment, result, tracer, "fr", prov)
            audit.append(audit_log, [evaluation, *records])
        return assessment, result, tracer

    # ------------------------------------------------------------ JSON API
    meta = {
        "name": policy.name,
        "version": policy.version,
        "engine": f"stratdsl {__version__}",
        "sha256": prov["policy_sha256"],
        "git": prov["git"],
        "decisions": [
            {"name": d.name, "for_each": d.entity_input, "outcomes": [o.name for o in d.outcomes], "label": labels.decision_label(policy, d.name, "en")}
            for d in policy.decisions.values()
        ],
        "params": [{"name": p.name, "type": p.type.describe(), "default": format_value(p.default)} for p in policy.params.values()],
    }
    meta_bytes = json_bytes(meta)  # static: built once

    @app.get("/api/v1/policy", summary="The policy's metadata")
    def policy_meta() -> dict[str, Any]:
        return Response(meta_bytes, media_type="application/json")  # type: ignore[return-value]

    @app.get("/api/v1/schema", summary="The JSON Schema of an assessment")
    def schema() -> dict[str, Any]:
        return json.loads(json.dumps(json_schema(policy), default=str))

    @app.post("/api/v1/evaluate", summary="Evaluate an assessment: every decision, or one", responses=ERROR_RESPONSES)
    def evaluate_api(body: EvaluateRequest) -> dict[str, Any]:
        # the result is plain JSON data already (result_json): a JSONResponse skips FastAPI's
        # jsonable_encoder, which cost 11 ms for the methodology's 170 kB, twice the evaluation
        if body.decision is not None and body.decision not in policy.decisions:
            raise StratError([Diagnostic("E305", f"unknown decision '{body.decision}'")])
        if body.outcomes_only and audit_log is None:  # audited runs record every decision in full
            with evaluation_slot():  # an evaluation too: a flood of them is bounded like the rest
                assessment = validate(policy, _exact(body.assessment), "request")
                overrides = parse_params(policy, [f"{k}={v}" for k, v in body.params.items()])
                when = body.as_of or date.today()
                found = [
                    {"decision": name, "entity": entity, "outcome": outcome}
                    for name, entity, outcome in outcomes(policy, assessment, when, overrides)
                    if body.decision is None or name == body.decision
                ]
                return FastJSONResponse({"policy": policy.name, "version": policy.version, "as_of": when.isoformat(), "decisions": found})  # type: ignore[return-value]
        # the answer is built and encoded within the slot: a third of the request's CPU, which
        # threads beyond the bound would otherwise spend at once
        with evaluation_slot():
            assessment, result, _ = _evaluate_now(body.assessment, body.as_of, body.params, trace=False)
            out = result_json(policy, result, body.lang)
            warnings = irrelevant_answers(policy, assessment)  # W110, as `stratdsl eval` reports them
            if warnings:
                out["warnings"] = [w.to_json() for w in warnings]
            if body.decision is not None:
                out["decisions"] = [d for d in out["decisions"] if d["decision"] == body.decision]
            return FastJSONResponse(out)  # type: ignore[return-value]

    @app.post("/api/v1/explain", summary="Explain a decision, and optionally why an outcome was not chosen", responses=ERROR_RESPONSES)
    def explain_api(body: ExplainRequest) -> dict[str, Any]:
        with evaluation_slot():
            assessment = validate(policy, _exact(body.assessment), "request")
            overrides = parse_params(policy, [f"{k}={v}" for k, v in body.params.items()])
            found = explain(
                policy, assessment, body.decision, body.as_of or date.today(), overrides, body.entity, body.why_not, tuple(body.keep),
                budget_ms=int(body.budget * 1000),
            )
            return FastJSONResponse({"explanations": [explanation_json(policy, x, body.lang, why) for x, why in found]})  # type: ignore[return-value]

    # ------------------------------------------------------------ web questionnaire
    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/questionnaire?lang=fr")

    def with_cookie(response: HTMLResponse, cookie: str, fresh: bool) -> HTMLResponse:
        if fresh:  # SameSite=Strict: never sent with a request another site starts
            response.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="strict", path="/questionnaire")
        return response

    def browser_cookie(request: Request) -> tuple[str, bool]:
        cookie = request.cookies.get(CSRF_COOKIE)
        if cookie and 16 <= len(cookie) <= 200:
            return cookie, False
        return secrets.token_urlsafe(32), True

    @app.get("/questionnaire", response_class=HTMLResponse, include_in_schema=False)
    def form(request: Request, lang: Literal["fr", "en"] = "fr") -> HTMLResponse:
        cookie, fresh = browser_cookie(request)
        token = csrf_token(security.secret, cookie)
        return with_cookie(HTMLResponse(render_form(policy, lang, _counts(policy, {}), {}, {}, csrf=token, pages=pages)), cookie, fresh)

    @app.post("/questionnaire", response_class=HTMLResponse, include_in_schema=False)
    async def submit(request: Request) -> HTMLResponse:
        raw = (await request.body()).decode("utf-8", "replace")
        from urllib.parse import parse_qs

        form_data = {k: v[-1] if len(v) == 1 else v for k, v in parse_qs(raw, keep_blank_values=True).items()}
        lang = "en" if form_data.get("lang") == "en" else "fr"
        if not csrf_ok(security.secret, request.cookies.get(CSRF_COOKIE), form_data.pop(CSRF_FIELD, None)):
            return _html(lambda: _message(pages, lang, "refused_csrf", _W[lang]["refused_csrf"], back=True), 403)
        token = csrf_token(security.secret, request.cookies[CSRF_COOKIE])
        resume = form_data.get("resume")
        if isinstance(resume, str) and resume.strip():
            return resume_form(policy, resume, lang, token, pages)
        count = _counts(policy, form_data)
        add = form_data.get("add")
        add = add[-1] if isinstance(add, list) else add
        if add in count:
            count[add] = min(count[add] + 1, MAX_BLOCKS)
            return HTMLResponse(render_form(policy, lang, count, form_data, {}, csrf=token, pages=pages))
        if form_data.get("refresh"):  # show the questions the answers so far make relevant
            return HTMLResponse(render_form(policy, lang, count, form_data, {}, csrf=token, pages=pages))
        data, problems = read_form(policy, form_data, lang, count)
        if problems:
            return HTMLResponse(render_form(policy, lang, count, form_data, problems, csrf=token, pages=pages), status_code=422)
        try:  # in a thread, as the API's: the event loop goes on while it waits for a slot
            assessment, result, tracer = await run_in_threadpool(_evaluate, data, None, {}, True)
        except StratError as error:
            return HTMLResponse(render_form(policy, lang, count, form_data, {"": "; ".join(translate(d.message, gettext_for(lang)) for d in error.diagnostics)}, csrf=token, pages=pages), status_code=422)
        return HTMLResponse(render_result(policy, data, assessment, result, tracer, lang, csrf=token, pages=pages))

    return app


# ------------------------------------------------------------------ HTML

#: the English text of each word (the message ids of the catalogue, render/catalogue.py);
#: the translations are in stratdsl/locale/<lang>/LC_MESSAGES/stratdsl.po
_SERVICE_EN = {
    "title": "Express AI diagnostic",
    "intro": "In five minutes, a clear pre-diagnosis of your automation opportunities. Leave empty what you do not know.",
    "usecase": "Use case (irritant) {n}",
    "add": "Add",
    "submit": "Get my pre-diagnosis",
    "refresh": "Show the questions that apply",
    "unknown": "I don't know",
    "none": "None",
    "none_and_more": "tick “None” or some answers, not both",
    "yes": "Yes",
    "no": "No",
    "result": "Pre-diagnosis",
    "next": "To complete the diagnostic, answer these first:",
    "download_yaml": "Download the assessment (YAML)",
    "download_report": "Download the report (HTML)",
    "report": "Full report",
    "undetermined": "to be completed",
    "possible": "possible",
    "errors": "Some answers need fixing:",
    "back": "Start again",
    "too_large": "Form too large",
    "too_large_help": "The answers sent are larger than {limit} bytes. Go back to the previous page, shorten the longest texts and send the form again.",
    "columns": ("Decision", "For", "Outcome", "Sources"),
    "colon": ": ",
    "refused": "Request refused",
    "refused_csrf": "This form has expired or does not come from this site. Reload the questionnaire page and send it again.",
    "busy": "Service busy",
    "busy_help": "Too many evaluations are running. Try again in a few seconds.",
    "broken": "Page unavailable",
    "broken_help": "This page could not be built: its template has an error (E622). The service's log says which.",
}
_W = table("service", _SERVICE_EN)

def _message(pages: Pages, lang: str, kind: str, message: str, back: bool = False) -> str:
    """A page that only says why (message.html): `kind` is also the key of its title in _W."""
    w = _W[lang]
    title = w["refused"] if kind == "refused_csrf" else w[kind]
    return pages.render("message.html", {"lang": lang, "w": w, "kind": kind, "title": title, "message": message, "back": back})


def _html(build: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """An HTML response from `build()`; a page of --template-dir that fails gives the built-in page saying so (E622), 500."""
    try:
        return HTMLResponse(build(), status_code=status_code, headers=headers)
    except PageError as error:
        return HTMLResponse(error.page, status_code=500, headers=headers)


@functools.cache
def default_pages() -> Pages:
    return Pages()


def _field_name(q: Question, index: int | None) -> str:
    if q.kind == "many":
        return f"{q.input_name}.{index}.{q.field}"
    return q.key


def _input_view(q: Question, name: str, value: Any, lang: str) -> dict[str, Any]:
    """What questionnaire.html shows of a question's input: its kind, its options and value."""
    w = _W[lang]
    current = value if value is not None else ""
    view: dict[str, Any] = {"name": name, "value": current, "options": []}
    if q.is_list:
        chosen = set(current) if isinstance(current, list) else {current}
        view["kind"] = "checkboxes"
        view["options"] = [{"value": c.value, "label": c.label, "checked": c.value in chosen} for c in q.choices]
        # "none" is an answer (the empty list), unlike no box ticked (unknown)
        view["options"].append({"value": NONE, "label": w["none"], "checked": NONE in chosen or current == []})
    elif q.choices:
        view["kind"] = "select"
        view["options"] = [{"value": "", "label": w["unknown"], "checked": False}] + [
            {"value": c.value, "label": c.label, "checked": c.value == current} for c in q.choices
        ]
    elif isinstance(q.type, BoolT):  # three radio buttons: an unanswered question stays unknown
        chosen = ("oui" if current else "non") if isinstance(current, bool) else str(current).strip().lower()
        chosen = "oui" if chosen in YES else "non" if chosen in NO else ""
        view["kind"] = "yesno"
        view["options"] = [{"value": v, "label": t, "checked": v == chosen} for v, t in (("oui", w["yes"]), ("non", w["no"]), ("", w["unknown"]))]
    else:
        view["kind"] = "number" if q.describe_type(lang).startswith(("nombre", "number", "whole")) else "text"
    return view


def _question_view(
    q: Question, name: str, value: Any, lang: str, problem: str | None, shown_help: set[str] | None = None, next_up: bool = False
) -> dict[str, Any]:
    """One question; a help text shared by several questions of a group is shown once, above the first."""
    show_help = bool(q.help) and (shown_help is None or q.help not in shown_help)
    if show_help and shown_help is not None and q.help:
        shown_help.add(q.help)
    answered = value not in (None, "", [])
    return {
        **_input_view(q, name, value, lang),
        "ident": name.replace(".", "-"),
        "css": " ".join(c for c in ("question", "next" if next_up else "", "answered" if answered else "") if c),
        "title": f"{q.member_label} — {q.label}" if q.member_label else q.label,
        "required": q.required,
        "help": q.help if show_help else None,
        "error": problem or None,
    }


def form_context(
    policy: ir.CheckedPolicy,
    lang: str,
    count: dict[str, int],
    values: dict[str, Any],
    problems: dict[str, str],
    next_up: dict[str, str] | None = None,
    csrf: str = "",
) -> dict[str, Any]:
    """What questionnaire.html shows (docs/service.md, "Templates and theme")."""
    _ = gettext_for(lang)
    next_up = next_up or {}
    qs = questions(policy, lang, express_only=True)
    single = [q for q in qs if q.kind != "many"]
    per_entity = [q for q in qs if q.kind == "many"]
    names = [_field_name(q, None) for q in single] + [
        _field_name(q, i) for q in per_entity for i in range(1, count.get(q.input_name, 1) + 1)
    ]
    done = sum(1 for n in names if values.get(n) not in (None, "", []))
    # `ask when`: a question is shown once the answers already given make it relevant
    ids: dict[tuple[str, int], str] = {}
    given, _problems = read_form(policy, values, lang, count, ids)
    by_input: dict[str, list[Question]] = {}
    for q in relevant_now(policy, given, single):
        by_input.setdefault(q.input_name, []).append(q)
    fieldsets = []
    for input_name, items in by_input.items():
        shown: set[str] = set()
        views = []
        for q in items:
            name = _field_name(q, None)
            views.append(_question_view(q, name, values.get(name), lang, problems.get(name), shown, name in next_up))
        fieldsets.append({"legend": labels.text(policy.inputs[input_name].meta.label, lang, input_name), "questions": views, "add": None})
    for input_name in dict.fromkeys(q.input_name for q in per_entity):
        qs = [q for q in per_entity if q.input_name == input_name]
        what = labels.text(policy.inputs[input_name].meta.label, lang, input_name)
        for index in range(1, count.get(input_name, 1) + 1):
            ident = ids.get((input_name, index))
            asked = relevant_now(policy, given, qs, ident) if ident else [q for q in qs if q.ask_when is None]
            shown = set()
            views = []
            for q in asked:
                name = _field_name(q, index)
                views.append(_question_view(q, name, values.get(name), lang, problems.get(name), shown, name in next_up))
            fieldsets.append({"legend": f"{what} — {index}", "questions": views, "add": None})
        fieldsets[-1]["add"] = {"input_name": input_name, "what": what}  # after its last block, the button that adds one
    other = "en" if lang == "fr" else "fr"
    resume = dict(zip(("summary", "from_file", "from_text", "go"),
                      (_("Continue from a saved assessment (YAML)"), _("File downloaded earlier"), _("or its text"), _("Continue")), strict=True))
    return {
        "lang": lang, "w": _W[lang], "csrf": csrf, "title": _W[lang]["title"],
        "answered": _("{done} of {total} questions answered").format(done=done, total=len(names)), "done": done, "total": len(names),
        "first": _("Answer these first"), "next_up": [(n.replace(".", "-"), text) for n, text in next_up.items()],
        "problems": list(problems.values()), "counts": list(count.items()),
        "fieldsets": fieldsets, "show_refresh": any(q.ask_when is not None for q in (*single, *per_entity)),
        "resume": resume, "other": other, "other_name": "English" if other == "en" else "Français",
    }


def render_form(
    policy: ir.CheckedPolicy,
    lang: str,
    count: dict[str, int],
    values: dict[str, Any],
    problems: dict[str, str],
    next_up: dict[str, str] | None = None,
    csrf: str = "",
    pages: Pages | None = None,
) -> str:
    """The web questionnaire, pre-filled with `values`; `next_up` (field name → question text)
    are the questions that settle the most, listed first with links and highlighted in place;
    `csrf` is the token the form posts back (docs/service.md)."""
    return (pages or default_pages()).render("questionnaire.html", form_context(policy, lang, count, values, problems, next_up, csrf))


def form_values(policy: ir.CheckedPolicy, data: dict[str, Any], lang: str) -> tuple[dict[str, Any], dict[str, int], dict[str, str]]:
    """Assessment data → the web form's values and block counts (the inverse of read_form), and
    each entity id's form prefix (`usecases[ocr]` → `usecases.1`)."""
    values: dict[str, Any] = {}
    count: dict[str, int] = {}
    where: dict[str, str] = {}
    qs = questions(policy, lang, express_only=True)
    for q in qs:
        if q.kind == "many":
            continue
        values[_field_name(q, None)] = _form_text(get_answer(data, q))
    for input_name in dict.fromkeys(q.input_name for q in qs if q.kind == "many"):
        items = [i for i in (data.get(input_name) or []) if isinstance(i, dict)][:MAX_BLOCKS]
        count[input_name] = max(1, len(items))
        for index, item in enumerate(items, start=1):
            where[f"{input_name}[{item.get('id')}]"] = f"{input_name}.{index}"
            for q in (q for q in qs if q.kind == "many" and q.input_name == input_name):
                values[_field_name(q, index)] = _form_text(item.get(q.field))
    return values, count, where


def _form_text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return [str(v) for v in value] or [NONE]
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def read_form(
    policy: ir.CheckedPolicy, form: dict[str, Any], lang: str, count: dict[str, int], ids: dict[tuple[str, int], str] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Form fields → assessment data, with every answer parsed as on the terminal.
    A use-case block left entirely empty is no use case."""
    data: dict[str, Any] = {}
    problems: dict[str, str] = {}
    qs = questions(policy, lang, express_only=True)

    def parsed(q: Question, name: str) -> Any:
        raw = form.get(name, "")
        try:
            if q.is_list:
                chosen = raw if isinstance(raw, list) else ([raw] if raw else [])
                if NONE in chosen:
                    if any(c != NONE for c in chosen):
                        raise AnswerError(_W[lang]["none_and_more"])
                    return []
                return parse_answer(q, ",".join(chosen), lang) if chosen else None
            if q.required and not str(raw).strip():
                return None  # reported below, once the block is known to be used
            return parse_answer(q, str(raw), lang)
        except AnswerError as error:
            problems[name] = f"{q.label}: {error}"
            return None

    for q in (q for q in qs if q.kind != "many"):
        name = _field_name(q, None)
        value = parsed(q, name)
        if value is None and q.required and name not in problems:
            problems[name] = f"{q.label}: " + _answer_required(lang)
        set_answer(data, q, value)
    per_entity = [q for q in qs if q.kind == "many"]
    for input_name in dict.fromkeys(q.input_name for q in per_entity):
        block = [q for q in per_entity if q.input_name == input_name]
        name_field = next((q for q in block if q.required), None)
        taken: set[str] = set()
        for index in range(1, count.get(input_name, 1) + 1):
            values = {q.field: parsed(q, _field_name(q, index)) for q in block}
            if all(v is None for v in values.values()):
                continue
            if name_field is not None and values.get(name_field.field) is None:
                problems[_field_name(name_field, index)] = name_field.label + _W[lang]["colon"] + _answer_required(lang)
                continue
            ident = slug(str(values[name_field.field]), taken) if name_field is not None else f"{input_name[:2]}{index}"
            taken.add(ident)
            if ids is not None:
                ids[(input_name, index)] = ident
            for q in block:
                set_answer(data, q, values[q.field], ident)
    return data, problems


def resume_form(policy: ir.CheckedPolicy, yaml_text: str, lang: str, csrf: str = "", pages: Pages | None = None) -> HTMLResponse:
    """The form again, filled with a saved assessment's answers, the questions that settle the most first."""
    from ..runtime.assessment import parse_data

    _ = gettext_for(lang)
    try:
        data, spans = parse_data(yaml_text, "evaluation.yaml")
        if not isinstance(data, dict):
            raise StratError([Diagnostic("E310", "the saved assessment is not a YAML mapping")])
        assessment = validate(policy, data, "evaluation.yaml", spans)
        result, _tracer = run(policy, assessment, date.today())
    except StratError as error:
        message = _("This file cannot be read as an assessment: {reason}").format(reason="; ".join(translate(d.message, _) for d in error.diagnostics))
        return HTMLResponse(render_form(policy, lang, _counts(policy, {}), {}, {"": message}, csrf=csrf, pages=pages), status_code=422)
    values, count, where = form_values(policy, data, lang)
    by_key = {q.key: q for q in questions(policy, lang, express_only=True)}
    next_up: dict[str, str] = {}
    for nq in next_questions(policy, result, lang, limit=40, names=entity_names(policy, data)):
        entity = re.match(r"^(\w+\[[^\]]*\])\.(\w+)$", nq.fact)
        if entity and entity.group(1) in where:
            field = f"{where[entity.group(1)]}.{entity.group(2)}"
        elif nq.fact in by_key:
            field = _field_name(by_key[nq.fact], None)
        else:
            continue
        if field in values:  # a question of the form (the express questions), not one only the full diagnostic asks
            next_up[field] = nq.label
        if len(next_up) == 8:
            break
    return HTMLResponse(render_form(policy, lang, count, values, {}, next_up, csrf, pages))


def _answer_required(lang: str) -> str:
    _ = gettext_for(lang)
    return _("answer required")


def entity_names(policy: ir.CheckedPolicy, data: dict[str, Any]) -> dict[str, str]:
    """Each entity id → the name given to it (its first required text field), for display."""
    out: dict[str, str] = {}
    for item in policy.inputs.values():
        if item.kind != "many":
            continue
        name_field = next((f.name for f in item.fields.values() if f.required and isinstance(f.type, TextT)), None)
        for node in data.get(item.name) or []:
            if isinstance(node, dict) and node.get("id") is not None:
                out[str(node["id"])] = str(node.get(name_field) or node["id"]) if name_field else str(node["id"])
    return out


def result_context(policy: ir.CheckedPolicy, data: dict[str, Any], assessment: Any, result: Any, tracer: Any, lang: str, csrf: str = "") -> dict[str, Any]:
    """What result.html shows: the decisions as found (nothing recomputed), the next questions, the downloads."""
    _ = gettext_for(lang)
    names = entity_names(policy, data)
    rows = []
    for decision in summary_decisions(policy):
        title = labels.decision_label(policy, decision.name, lang)
        for d in (x for x in result.decisions if x.decision == decision.name):
            who = names.get(d.entity, d.entity) if d.entity else ""
            if d.status == "decided":
                rows.append({"decision": title, "who": who, "decided": True, "outcome": labels.outcome_label(policy, d.decision, d.outcome, lang),
                             "cites": "; ".join(c.text for c in d.cites)})
            else:
                possible = ", ".join(labels.outcome_label(policy, d.decision, o, lang) for o in d.possible)
                rows.append({"decision": title, "who": who, "decided": False, "possible": possible})
    nxt = next_questions(policy, result, lang, names=names, assessment=assessment)
    yaml_text = to_yaml(data)
    report_html = _report_html(policy, assessment, result, tracer, lang)
    report = None if report_html is None else {"html": report_html, "base64": base64.b64encode(report_html.encode()).decode()}
    return {
        "lang": lang, "w": _W[lang], "csrf": csrf, "title": _W[lang]["result"], "rows": rows, "next": [q.label for q in nxt],
        "complete": _("Complete my answers"), "yaml_text": yaml_text, "yaml_base64": base64.b64encode(yaml_text.encode()).decode(), "report": report,
    }


def sample_contexts(policy: ir.CheckedPolicy) -> dict[str, list[dict[str, Any]]]:
    """Every page with made-up data of the real shape: `serve --template-dir` renders each at start-up (E622)."""
    out: dict[str, list[dict[str, Any]]] = {"questionnaire.html": [], "result.html": [], "message.html": []}
    for lang in ("fr", "en"):
        count = _counts(policy, {})
        form = form_context(policy, lang, count, {}, {"": "…"}, None, "0" * 64)
        names = [q["ident"] for f in form["fieldsets"] for q in f["questions"]][:1]
        out["questionnaire.html"] += [form_context(policy, lang, count, {}, {}, None, "0" * 64), {**form, "next_up": [(n, "…") for n in names]}]
        row = {"decision": "…", "who": "…", "decided": True, "outcome": "…", "cites": "…"}
        result = {"lang": lang, "w": _W[lang], "csrf": "0" * 64, "title": _W[lang]["result"],
                  "rows": [row, {"decision": "…", "who": "", "decided": False, "possible": "…"}], "next": ["…"], "complete": "…",
                  "yaml_text": "{}\n", "yaml_base64": "e30K", "report": {"html": "<p></p>", "base64": "PHA+PC9wPg=="}}
        out["result.html"] += [result, {**result, "next": [], "report": None}]
        pages = [("refused", "…", False), ("refused_csrf", _W[lang]["refused_csrf"], True), ("too_large", "…", True), ("busy", _W[lang]["busy_help"], False)]
        for kind, message, back in pages:
            title = _W[lang]["refused"] if kind == "refused_csrf" else _W[lang][kind]
            out["message.html"].append({"lang": lang, "w": _W[lang], "kind": kind, "title": title, "message": message, "back": back})
    return out


def render_result(
    policy: ir.CheckedPolicy, data: dict[str, Any], assessment: Any, result: Any, tracer: Any, lang: str, csrf: str = "", pages: Pages | None = None
) -> str:
    return (pages or default_pages()).render("result.html", result_context(policy, data, assessment, result, tracer, lang, csrf))


def _report_html(policy: ir.CheckedPolicy, assessment: Any, result: Any, tracer: Any, lang: str) -> str | None:
    """The management report for this result, when the policy fits the report's layout."""
    try:
        from ..report import build_report, render_html

        return render_html(build_report(policy, assessment, result, tracer, lang, "questionnaire", None))
    except (KeyError, AttributeError, TypeError, ValueError):
        return None


def app_from_env() -> FastAPI:
    """The app of the policy named by STRATDSL_SERVE_POLICY: the factory each uvicorn worker
    process calls (`stratdsl serve --workers N`, or `uvicorn --factory` / gunicorn with
    uvicorn workers, docs/performance.md), themed by STRATDSL_SERVE_TEMPLATE_DIR, _LOGO,
    _ACCENT and _COMPANY_NAME (docs/service.md)."""
    import os

    from ..engine import require_policy

    policy, _ = require_policy(os.environ["STRATDSL_SERVE_POLICY"])
    try:  # the theme's options, as `serve` checks them (E620–E625)
        theme = load_theme(ThemeOptions.from_env(os.environ))
        app = create_app(policy, os.environ.get("STRATDSL_SERVE_AUDIT_LOG") or None, security=_security_from_env(os.environ), theme=theme)
    except StratError as error:
        import sys

        from ..render.diagnostics import render_text

        print(render_text(error.diagnostics, None), file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    _freeze()
    return app


def _freeze() -> None:
    """After start-up: the policy, its compiled and traced forms and the app live as long as the
    process; `gc.freeze()` moves them out of the collector's generations, so that collections
    during requests no longer traverse them (and forked workers keep their pages shared)."""
    import gc

    gc.collect()
    gc.freeze()


def _security_to_env(security: Security) -> str:
    """The parent's Security for its worker processes: the same host names, keys, bound and
    CSRF secret, so that a token one worker gave is accepted by another."""
    return json.dumps({
        "allowed_hosts": list(security.allowed_hosts), "api_keys": list(security.api_keys), "auth_header": security.auth_header,
        "max_evaluations": security.max_evaluations, "secret": security.secret.hex(), "queue_wait": security.queue_wait,
    })


def _security_from_env(environ: Any) -> Security:
    """The worker's Security: the parent's (`serve --workers N`), else the defaults; then
    STRATDSL_SERVE_MAX_EVALUATIONS and STRATDSL_SERVE_QUEUE_WAIT, for a factory deployment
    (`uvicorn --factory`, gunicorn) that sets no STRATDSL_SERVE_SECURITY."""
    raw = environ.get("STRATDSL_SERVE_SECURITY")
    if not raw:
        secret = environ.get("STRATDSL_SECRET", "").encode()  # as `serve` reads it: the same in every process
        security = Security(**({"secret": secret} if len(secret) >= 16 else {}))
    else:
        data = json.loads(raw)
        security = Security(tuple(data["allowed_hosts"]), tuple(data["api_keys"]), data["auth_header"], int(data["max_evaluations"]),
                            bytes.fromhex(data["secret"]), float(data.get("queue_wait", QUEUE_WAIT)))
    overrides: dict[str, Any] = {}
    if environ.get("STRATDSL_SERVE_MAX_EVALUATIONS", "").strip():
        overrides["max_evaluations"] = concurrency_option("STRATDSL_SERVE_MAX_EVALUATIONS", environ["STRATDSL_SERVE_MAX_EVALUATIONS"], int, 1, 1000)
    if environ.get("STRATDSL_SERVE_QUEUE_WAIT", "").strip():
        overrides["queue_wait"] = concurrency_option("STRATDSL_SERVE_QUEUE_WAIT", environ["STRATDSL_SERVE_QUEUE_WAIT"], float, 0, MAX_QUEUE_WAIT)
    return replace(security, **overrides) if overrides else security


def concurrency_option(name: str, raw: str, kind: Any, low: float, high: float) -> Any:
    """An evaluation bound from the environment: a number within [low, high], else a usage error (exit 2)."""
    try:
        value = kind(raw.strip())
        if not low <= value <= high:
            raise ValueError
    except ValueError:
        import sys

        print(f"stratdsl: {name} must be a number from {low:g} to {high:g}, not {raw.strip()[:40]!r}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    return value


def startup_message(policy_path: str | Path, host: str, port: int, security: Security, lang: str = "en") -> str:
    """What `serve` says once, before listening, in the user's language: where to open it,
    who can reach it, what protects it, and how to stop it."""
    from ..render.catalogue import gettext_for, ngettext_for

    _, n_ = gettext_for(lang), ngettext_for(lang)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    lines = [_("stratdsl: serving {policy} at {url}/questionnaire (JSON API: {url}/docs)").format(policy=policy_path, url=url)]
    if host in LOOPBACK_HOSTS:
        lines.append(_("stratdsl: listening on this machine only ({host}): other machines cannot connect; "
                       "see docs/service.md to serve a network").format(host=host))
    else:
        lines.append(_("stratdsl: listening on {host}: reachable from the network — put it behind a reverse proxy "
                       "with TLS and authentication (docs/service.md)").format(host=host))
    hosts = _("any host name (--allowed-host '*')") if "*" in security.allowed_hosts else ", ".join(security.allowed_hosts)
    lines.append(_("stratdsl: answering for the host names {hosts}").format(hosts=hosts))
    n = security.max_evaluations
    if security.queue_wait > 0:
        lines.append(n_("stratdsl: at most {n} evaluation at once per worker process; more wait up to {seconds} s, then get 503",
                        "stratdsl: at most {n} evaluations at once per worker process; more wait up to {seconds} s, then get 503",
                        n).format(n=n, seconds=f"{security.queue_wait:g}".replace(".", "," if lang == "fr" else ".")))
    else:
        lines.append(n_("stratdsl: at most {n} evaluation at once per worker process; more get 503 at once",
                        "stratdsl: at most {n} evaluations at once per worker process; more get 503 at once", n).format(n=n))
    if security.api_keys:
        k = len(security.api_keys)
        lines.append(n_("stratdsl: the JSON API needs an API key ({n} accepted)", "stratdsl: the JSON API needs an API key ({n} accepted)", k).format(n=k))
    if security.auth_header:
        lines.append(_("stratdsl: every request must carry the header {header} set by the authenticating proxy").format(header=security.auth_header))
    lines.append(_("stratdsl: press Ctrl+C to stop"))
    return "\n".join(lines)


def serve(
    policy_path: str | Path, host: str, port: int, audit_log: str | None, security: Security | None = None, workers: int = 1,
    theme_options: ThemeOptions | None = None, lang: str = "en",
) -> None:
    import sys

    import uvicorn

    from ..engine import require_policy

    security = security or Security()
    theme_options = theme_options or ThemeOptions()
    if workers > 1:
        import os

        # each worker is a process of its own that checks and compiles the policy once
        os.environ["STRATDSL_SERVE_POLICY"] = str(Path(policy_path).resolve())
        os.environ["STRATDSL_SERVE_AUDIT_LOG"] = audit_log or ""
        os.environ["STRATDSL_SERVE_SECURITY"] = _security_to_env(security)
        given = {**theme_options.__dict__}
        given.update({k: str(Path(v).resolve()) for k, v in given.items() if k in ("template_dir", "logo") and v})
        os.environ.update(ThemeOptions(**given).to_env())
        print(startup_message(policy_path, host, port, security, lang), file=sys.stderr, flush=True)
        uvicorn.run("stratdsl.commands.service:app_from_env", factory=True, workers=workers, host=host, port=port, log_level="warning")
        return
    policy, _ = require_policy(policy_path)
    print(startup_message(policy_path, host, port, security, lang), file=sys.stderr, flush=True)
    app = create_app(policy, audit_log, security=security, theme=load_theme(theme_options))
    _freeze()
    uvicorn.run(app, host=host, port=port, log_level="warning")
