"""The decision service for real: `stratdsl serve` in its own process, spoken to over HTTP.

A server is started on 127.0.0.1 on a free port (`stratdsl serve
policies/strategy.strat --port N`), the tests wait until it answers, talk to it
with httpx, and the server is always terminated at the end of the module. The
JSON API is checked against the CLI: the same example evaluated by `stratdsl
eval --format json` and by POST /api/v1/evaluate must give the same JSON,
likewise `stratdsl explain --why-not` and POST /api/v1/explain. Errors must carry
the CLI's codes in `{"errors": [...]}`. A second server writes an audit log that
`stratdsl audit verify` must accept. Last, schemathesis generates requests from
/openapi.json (skipped when schemathesis is not installed: it is in the `test`
extra).

Tests marked `xfail(strict=True, reason="BUG: …")` describe behaviour that the
service promises and does not deliver yet; they fail (as expected) until the
bug is fixed, then pass and the mark must be removed.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner

from helpers import REPO
from stratdsl.commands.cli import main
from stratdsl.engine import require_policy
from stratdsl.provenance.records import assessment_sha256, provenance
from stratdsl.runtime.assessment import validate

STRATDSL = shutil.which("stratdsl")
pytestmark = pytest.mark.skipif(STRATDSL is None, reason="needs the installed `stratdsl` command")

POLICY_PATH = REPO / "policies" / "strategy.strat"
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
AS_OF = "2026-11-26"
LATER = "2028-09-01"  # Annex III high-risk rules in force under either timeline


# ------------------------------------------------------------------ the server process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp: Path, *extra: str) -> tuple[subprocess.Popen, str, Path]:
    """Start `stratdsl serve` on a free port; (process, base URL, its log)."""
    port = free_port()
    log = tmp / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [STRATDSL, "serve", str(POLICY_PATH), "--host", "127.0.0.1", "--port", str(port), *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    return proc, f"http://127.0.0.1:{port}", log


def wait_until_up(proc: subprocess.Popen, base: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"the server stopped: {log.read_text()}"
        try:
            if httpx.get(base + "/api/v1/policy", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"the server did not answer within {timeout} s"
        time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Two servers started together: a plain one, and one writing an audit log."""
    tmp = tmp_path_factory.mktemp("serve")
    audit_log = tmp / "audit.jsonl"
    started = []
    try:
        started.append(start(tmp))
        started.append(start(tmp, "--audit-log", str(audit_log)))
        for proc, url, log in started:
            wait_until_up(proc, url, log)
        yield {"plain": started[0][1], "audited": started[1][1], "audit_log": audit_log}
    finally:
        for proc, _, _ in started:
            stop(proc)


@pytest.fixture(scope="module")
def base(servers):
    return servers["plain"]


def form_token(c: httpx.Client, lang: str = "fr") -> str:
    """The CSRF token of the web form (and, in the client's cookie jar, the cookie it signs)."""
    page = c.get("/questionnaire", params={"lang": lang}).text
    return re.search(r'<input type="hidden" name="csrf" value="([0-9a-f]{64})">', page).group(1)


class FormClient(httpx.Client):
    """A browser-like client: a form posted to /questionnaire carries the token of a page it got."""

    def post(self, url, *args, data=None, **kwargs):  # type: ignore[override]
        if url == "/questionnaire" and isinstance(data, dict) and "csrf" not in data:
            data = {**data, "csrf": form_token(self)}
        return super().post(url, *args, data=data, **kwargs)


@pytest.fixture(scope="module")
def client(base):
    with FormClient(base_url=base, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def policy():
    checked, _ = require_policy(POLICY_PATH)
    return checked


def as_json(path: Path) -> dict[str, Any]:
    """An example assessment as a JSON request would carry it: YAML dates become strings."""
    return json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))


def errors(response: httpx.Response, status: int = 422) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text[:1000]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"errors"} and body["errors"], body
    for e in body["errors"]:
        assert {"code", "severity", "message", "span", "hint", "notes"} <= set(e)
    return body["errors"]


# ------------------------------------------------------------------ the CLI side (started once, in parallel)


EXPLAIN = ("cabinet-comptable", "risk", "tri-cv", "minimal")  # example, decision, use case, why not this outcome


@pytest.fixture(scope="module")
def cli():
    """The CLI's JSON for every comparison below: `stratdsl eval|explain|schema …`, run in
    process with click's CliRunner (the same `stratdsl.commands.cli.main` as the installed command,
    without a process start for each)."""
    commands = {
        ("eval", e.stem, AS_OF): ["eval", str(POLICY_PATH), str(e), "--as-of", AS_OF, "--format", "json"] for e in EXAMPLES
    }
    commands[("eval", "cabinet-comptable", LATER)] = [
        "eval",
        str(POLICY_PATH),
        str(REPO / "examples" / "cabinet-comptable.yaml"),
        "--as-of",
        LATER,
        "--format",
        "json",
    ]
    example, decision, entity, outcome = EXPLAIN
    commands[("explain",)] = [
        "explain",
        str(POLICY_PATH),
        str(REPO / "examples" / f"{example}.yaml"),
        decision,
        "--for",
        entity,
        "--why-not",
        outcome,
        "--as-of",
        AS_OF,
        "--format",
        "json",
    ]
    commands[("schema",)] = ["schema", str(POLICY_PATH)]
    runner = CliRunner()
    out = {}
    for key, args in commands.items():
        result = runner.invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, f"{args}: {result.output}"
        out[key] = json.loads(result.stdout)
    return out


# ------------------------------------------------------------------ metadata and schema


def test_policy_metadata(client, policy):
    r = client.get("/api/v1/policy")
    assert r.status_code == 200
    meta = r.json()
    assert meta["name"] == "Stratégie IA PME/ETI" and meta["version"] == "2026.11"
    assert meta["engine"].startswith("stratdsl ")
    assert meta["sha256"] == provenance(policy)["policy_sha256"]
    assert [d["name"] for d in meta["decisions"]] == list(policy.decisions)
    risk = next(d for d in meta["decisions"] if d["name"] == "risk")
    assert risk["for_each"] == "usecases" and "high" in risk["outcomes"] and risk["label"] == "AI Act risk category"
    level = next(d for d in meta["decisions"] if d["name"] == "maturity_level")
    assert level["for_each"] is None and level["outcomes"] == ["exploratory", "emerging", "structured", "advanced"]
    params = {p["name"]: p for p in meta["params"]}
    assert set(params) == set(policy.params)
    assert params["weeks_per_year"]["default"] == "47"


def test_schema_is_the_clis(client, cli):
    r = client.get("/api/v1/schema")
    assert r.status_code == 200
    schema = r.json()
    assert schema == cli[("schema",)]
    assert {"organization", "maturity", "tools", "usecases"} <= set(schema["properties"])
    assert schema.get("additionalProperties") is False


def test_root_redirects_to_the_questionnaire(client):
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 307) and r.headers["location"] == "/questionnaire?lang=fr"


# ------------------------------------------------------------------ evaluate and explain, against the CLI


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_evaluate_gives_what_the_cli_gives(client, cli, example):
    r = client.post("/api/v1/evaluate", json={"assessment": as_json(example), "as_of": AS_OF})
    assert r.status_code == 200, r.text[:1000]
    api = r.json()
    expected = cli[("eval", example.stem, AS_OF)]
    assert [(d["decision"], d["entity"], d["status"], d["outcome"], d["possible"]) for d in api["decisions"]] == [
        (d["decision"], d["entity"], d["status"], d["outcome"], d["possible"]) for d in expected["decisions"]
    ]
    assert api == expected  # and everything else: values, obligations, cites, params, rules


def test_evaluate_honours_as_of_and_one_decision(client, cli):
    example = REPO / "examples" / "cabinet-comptable.yaml"
    r = client.post("/api/v1/evaluate", json={"assessment": as_json(example), "as_of": LATER, "decision": "risk"})
    assert r.status_code == 200, r.text[:1000]
    api = r.json()
    expected = cli[("eval", "cabinet-comptable", LATER)]
    assert api["as_of"] == LATER
    assert api["decisions"] == [d for d in expected["decisions"] if d["decision"] == "risk"]
    assert {d["entity"]: d["outcome"] for d in api["decisions"]}["tri-cv"] == "high"  # in force by then
    earlier = client.post("/api/v1/evaluate", json={"assessment": as_json(example), "as_of": AS_OF, "decision": "risk"}).json()
    assert {d["entity"]: d["outcome"] for d in earlier["decisions"]}["tri-cv"] == "high_pending"


def test_evaluate_in_english_and_with_a_param(client):
    example = REPO / "examples" / "cabinet-comptable.yaml"
    fr = client.post("/api/v1/evaluate", json={"assessment": as_json(example), "as_of": AS_OF, "decision": "risk"}).json()
    en = client.post(
        "/api/v1/evaluate", json={"assessment": as_json(example), "as_of": AS_OF, "decision": "risk", "lang": "en"}
    ).json()
    assert [d["outcome"] for d in fr["decisions"]] == [d["outcome"] for d in en["decisions"]]
    assert "Risque minimal" in {d["label"] for d in fr["decisions"]} and "Minimal risk" in {d["label"] for d in en["decisions"]}
    r = client.post(
        "/api/v1/evaluate", json={"assessment": as_json(example), "as_of": AS_OF, "params": {"timeline": "aiact_2024"}}
    )
    assert r.status_code == 200
    param = next(p for p in r.json()["params"] if p["name"] == "timeline")
    assert param == {"name": "timeline", "value": "aiact_2024", "overridden": True}
    assert {d["entity"]: d["outcome"] for d in r.json()["decisions"] if d["decision"] == "risk"}["tri-cv"] == "high"


def test_explain_with_why_not_is_the_clis(client, cli):
    example, decision, entity, outcome = EXPLAIN
    body = {
        "assessment": as_json(REPO / "examples" / f"{example}.yaml"),
        "decision": decision,
        "entity": entity,
        "why_not": outcome,
        "as_of": AS_OF,
    }
    r = client.post("/api/v1/explain", json=body)
    assert r.status_code == 200, r.text[:1000]
    (explanation,) = r.json()["explanations"]
    assert explanation == cli[("explain",)]
    assert explanation["decision"]["outcome"] == "high_pending"
    why = explanation["why_not"]
    assert why["outcome"] == "minimal" and why["chosen"] is False and why["blockers"]
    # the solver's closest changes come with it, each verified by re-evaluation
    assert "counterfactuals" in why and all(c["verified"] for c in why["counterfactuals"])
    # every use case when no entity is named
    r = client.post("/api/v1/explain", json={**body, "entity": None, "why_not": None})
    assert [x["decision"]["entity"] for x in r.json()["explanations"]] == [
        "saisie-factures",
        "revue-ecritures",
        "tri-cv",
        "assistant-clients",
    ]


# ------------------------------------------------------------------ errors


def test_invalid_assessment_is_E302(client):
    found = errors(
        client.post("/api/v1/evaluate", json={"assessment": {"organization": {"name": "X", "headcount": -5, "colour": "blue"}}})
    )
    assert {e["code"] for e in found} == {"E302"}
    messages = sorted(e["message"] for e in found)
    assert messages == ["organization.colour: unknown field 'colour'", "organization.headcount: -5 is below the minimum 0"]
    found = errors(
        client.post(
            "/api/v1/explain",
            json={"assessment": {"usecases": [{"id": "a", "name": "A", "inputs": ["astrology"]}]}, "decision": "risk"},
        )
    )
    assert [e["code"] for e in found] == ["E302"] and found[0]["message"].startswith(
        "usecases[0].inputs[0]: 'astrology' is not one of: "
    )


def test_unknown_decision_or_outcome_is_E305(client):
    found = errors(client.post("/api/v1/evaluate", json={"assessment": {}, "decision": "horoscope"}))
    assert [(e["code"], e["message"]) for e in found] == [("E305", "unknown decision 'horoscope'")]
    found = errors(client.post("/api/v1/explain", json={"assessment": {}, "decision": "horoscope"}))
    assert [e["code"] for e in found] == ["E305"] and found[0]["message"] == "unknown decision 'horoscope'"
    found = errors(client.post("/api/v1/explain", json={"assessment": {}, "decision": "maturity_level", "why_not": "genius"}))
    assert [e["code"] for e in found] == ["E305"] and found[0]["hint"] == "outcomes: exploratory, emerging, structured, advanced"


def test_explain_why_not_budget_is_bounded(client):
    """The solver's time per entity is the request's to choose, within the service's bound."""
    from stratdsl.commands.service import MAX_WHY_NOT_BUDGET

    body = {"assessment": {}, "decision": "maturity_level", "why_not": "advanced"}
    for budget in (0, MAX_WHY_NOT_BUDGET + 1):
        found = errors(client.post("/api/v1/explain", json={**body, "budget": budget}))
        assert found and "budget" in found[0]["message"]


def test_unknown_entity_is_E303(client):
    body = {"assessment": as_json(REPO / "examples" / "cabinet-comptable.yaml"), "decision": "risk", "entity": "nope"}
    found = errors(client.post("/api/v1/explain", json=body))
    assert [e["code"] for e in found] == ["E303"] and "tri-cv" in found[0]["hint"]


def test_bad_param_is_E304(client):
    found = errors(client.post("/api/v1/evaluate", json={"assessment": {}, "params": {"nope": "1"}}))
    assert [(e["code"], e["message"]) for e in found] == [("E304", "unknown parameter 'nope'")]
    found = errors(client.post("/api/v1/evaluate", json={"assessment": {}, "params": {"weeks_per_year": "many"}}))
    assert [e["code"] for e in found] == ["E304"] and "'many' is not a number" in found[0]["message"]
    found = errors(client.post("/api/v1/explain", json={"assessment": {}, "decision": "risk", "params": {"timeline": "someday"}}))
    assert [e["code"] for e in found] == ["E304"]


def test_malformed_request_is_E310(client):
    found = errors(client.post("/api/v1/evaluate", content=b'{"assessment": {', headers={"content-type": "application/json"}))
    assert [e["code"] for e in found] == ["E310"] and "JSON decode error" in found[0]["message"]
    found = errors(client.post("/api/v1/evaluate", json={"organization": {}}))
    assert [(e["code"], e["message"]) for e in found] == [("E310", "body.assessment: Field required")]
    found = errors(client.post("/api/v1/evaluate", json={"assessment": {}, "as_of": "yesterday"}))
    assert [e["code"] for e in found] == ["E310"] and found[0]["message"].startswith("body.as_of: ")
    found = errors(client.post("/api/v1/evaluate", json={"assessment": [], "lang": "de"}))
    assert {e["code"] for e in found} == {"E310"} and {e["message"].split(":")[0] for e in found} == {
        "body.assessment",
        "body.lang",
    }
    found = errors(client.post("/api/v1/explain", json={"assessment": {}}))
    assert [(e["code"], e["message"]) for e in found] == [("E310", "body.decision: Field required")]


def test_undecodable_body_is_E310(client):
    """A body the JSON parser cannot read at all (not UTF-8, or nested beyond its recursion
    limit): FastAPI's 400, in the API's error format."""
    found = errors(
        client.post("/api/v1/evaluate", content=b'{"assessment": {"x": "\xff"}}', headers={"content-type": "application/json"}),
        400,
    )
    assert [(e["code"], e["message"]) for e in found] == [("E310", "There was an error parsing the body")]
    deep = b'{"assessment": {"about": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
    found = errors(client.post("/api/v1/evaluate", content=deep, headers={"content-type": "application/json"}), 400)
    assert [e["code"] for e in found] == ["E310"]


def test_unknown_path_or_method_is_in_the_error_format(client):
    found = errors(client.get("/api/v1/nothing"), 404)
    assert [(e["code"], e["message"]) for e in found] == [("E312", "there is nothing at /api/v1/nothing")]
    assert "/docs" in found[0]["hint"]
    found = errors(client.put("/api/v1/evaluate", json={"assessment": {}}), 405)
    assert [(e["code"], e["message"]) for e in found] == [("E310", "PUT is not accepted at /api/v1/evaluate")]
    assert client.get("/docs").status_code == 200  # where the hints send the reader


def test_a_deeply_nested_assessment_is_refused_not_a_crash(client):
    """Nested deeper than 64 levels (but within the JSON parser's limit): E307, as the YAML reader says."""
    deep = b'{"assessment": {"organization": {"name": "x"}, "about": {"x": ' + b"[" * 900 + b"]" * 900 + b"}}}"
    for path in ("/api/v1/evaluate", "/api/v1/explain"):
        body = deep if path.endswith("evaluate") else deep[:-1] + b', "decision": "risk"}'
        r = client.post(path, content=body, headers={"content-type": "application/json"})
        found = errors(r)
        assert [(e["code"], e["message"]) for e in found] == [("E307", "the assessment is nested more than 64 levels deep")]
    # 60 levels is fine (the `about` block takes anything)
    ok = b'{"assessment": {"organization": {"name": "x"}, "about": {"x": ' + b"[" * 60 + b"]" * 60 + b"}}}"
    assert client.post("/api/v1/evaluate", content=ok, headers={"content-type": "application/json"}).status_code == 200


def test_an_extreme_param_is_E304(client):
    """A numeric param with an exponent beyond ±20 is refused (it used to overflow the evaluator: a 500)."""
    example = as_json(REPO / "examples" / "cabinet-comptable.yaml")
    for value in ("-1e30", "1e999999999", "1e-21"):
        r = client.post("/api/v1/evaluate", json={"assessment": example, "as_of": AS_OF, "params": {"weeks_per_year": value}})
        found = errors(r)
        assert [e["code"] for e in found] == ["E304"], value
        assert found[0]["message"].startswith(f"--param weeks_per_year: {value} is not a reasonable number")
    # the same from the command line: an error (exit 1), not an internal error (exit 3)
    done = CliRunner().invoke(
        main,
        ["eval", str(POLICY_PATH), str(REPO / "examples" / "cabinet-comptable.yaml"), "--param", "weeks_per_year=1e999999999", "--lang", "en"],
    )
    assert done.exit_code == 1 and "error[E304]" in done.output, done.output


def test_numbers_are_bounded_and_never_text_in_the_api(client):
    """Issue 16, point 9: a 5 KB request with "1e-999999" gave a 1.1 GB audit log. The body's
    numbers are read as exact decimals (not floats, where 1e-999999 would become 0.0) and
    bounded like a file's; a number given as text is refused."""
    for raw, expected in [
        (b'1e-999999', "is refused: it is smaller than 10^-20"),
        (b'"1e-999999"', "'1e-999999' is text, not a number"),
        (b'"5"', "'5' is text, not a number"),
        (b'1e21', "is refused: it is 10^21 or more"),
    ]:
        body = b'{"assessment": {"organization": {"name": "X", "annual_revenue": ' + raw + b'}}}'
        found = errors(client.post("/api/v1/evaluate", content=body, headers={"content-type": "application/json"}))
        assert [e["code"] for e in found] == ["E302"], raw
        assert found[0]["message"].startswith("organization.annual_revenue: ") and expected in found[0]["message"], found
    exact = b'{"assessment": {"organization": {"name": "X", "annual_revenue": 0.1000000000000000055511151231257827}}}'
    found = errors(client.post("/api/v1/evaluate", content=exact, headers={"content-type": "application/json"}))
    assert "more than 28 significant digits" in found[0]["message"]  # as a float it would have passed, rounded


def test_a_body_over_1_MB_is_refused_with_E311(client):
    big = {"assessment": {"about": {"notes": "x" * 1_000_100}}}
    found = errors(client.post("/api/v1/evaluate", json=big), 413)
    assert [(e["code"], e["message"]) for e in found] == [("E311", "the request body is larger than 1000000 bytes")]
    found = errors(client.post("/api/v1/explain", json={**big, "decision": "risk"}), 413)
    assert [e["code"] for e in found] == ["E311"]
    # just under the limit is read (and then judged on its content)
    small = {"assessment": {"about": {"notes": "x" * 999_000}}}
    assert client.post("/api/v1/evaluate", json=small).status_code == 200


def chunked(data: bytes):
    """A body sent with Transfer-Encoding: chunked (httpx sends no Content-Length for a generator)."""
    for i in range(0, len(data), 65536):
        yield data[i : i + 65536]


def test_a_chunked_body_over_1_MB_is_not_evaluated(client):
    """Without a Content-Length, the body is counted as it comes: over 1 MB it is refused (413 / E311,
    see below), under the limit it is read as usual."""
    big = json.dumps({"assessment": {"about": {"notes": "x" * 1_500_000}}}).encode()
    r = client.post("/api/v1/evaluate", content=chunked(big), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code in (400, 413) and errors(r, r.status_code)
    small = json.dumps({"assessment": {"about": {"notes": "x" * 500_000}}, "decision": "maturity_level"}).encode()
    r = client.post("/api/v1/evaluate", content=chunked(small), headers={"content-type": "application/json"})
    assert r.status_code == 200 and [d["decision"] for d in r.json()["decisions"]] == ["maturity_level"]


def test_a_chunked_body_over_1_MB_is_refused_with_E311(client):
    """It used to be FastAPI's 400 E310: the 413 was raised inside its body reader. It is now sent
    before the app reads anything."""
    data = json.dumps({"assessment": {"about": {"notes": "x" * 1_500_000}}}).encode()
    for path in ("/api/v1/evaluate", "/api/v1/explain"):
        r = client.post(path, content=chunked(data), headers={"content-type": "application/json"})
        assert "content-length" not in r.request.headers
        found = errors(r, 413)
        assert [(e["code"], e["message"]) for e in found] == [("E311", "the request body is larger than 1000000 bytes")]


def test_a_chunked_form_over_1_MB_is_refused_not_a_crash(base):
    """It used to be a plain-text 500 (an ExceptionGroup out of BaseHTTPMiddleware). A form too large,
    chunked or with its Content-Length (as a browser sends it), gets an HTML page in the browser's language."""
    data = b"lang=fr&organization.name=" + b"x" * 1_500_000
    form = {"content-type": "application/x-www-form-urlencoded"}
    with httpx.Client(base_url=base, timeout=60) as own:  # the server closes the connection after a 413
        r = own.post("/questionnaire", content=chunked(data), headers=form)
        assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
        assert '<html lang="fr">' in r.text and "<h1>Formulaire trop volumineux</h1>" in r.text
        assert "Les réponses envoyées dépassent 1\u00a0000\u00a0000 octets." in r.text
        r = own.post("/questionnaire", content=data, headers={**form, "accept-language": "en-GB,en;q=0.8"})
        assert "content-length" in r.request.headers
        assert r.status_code == 413 and '<html lang="en">' in r.text and "<h1>Form too large</h1>" in r.text
        assert own.get("/questionnaire").status_code == 200  # and the server goes on


def test_serve_binds_this_machine_by_default_and_says_so(tmp_path):
    """Issue 16, point 13: without --host the service listens on 127.0.0.1 and its first
    lines say so (and what protects it)."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([STRATDSL, "serve", str(POLICY_PATH), "--port", str(port), "--lang", "en"], stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        wait_until_up(proc, f"http://127.0.0.1:{port}", log)
        text = log.read_text(encoding="utf-8")
        assert text.count(f"http://127.0.0.1:{port}/questionnaire") == 1
        assert "listening on this machine only (127.0.0.1): other machines cannot connect" in text
        assert "answering for the host names 127.0.0.1, localhost, ::1\nstratdsl: at most 2 evaluations at once per worker process; more wait up to 0.5 s" in text
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/policy", headers={"host": "attacker.example"}, timeout=10).status_code == 421
    finally:
        stop(proc)


def test_serve_with_api_keys_from_the_environment(tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([STRATDSL, "serve", str(POLICY_PATH), "--port", str(port), "--lang", "en"], stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
                                env={**__import__("os").environ, "STRATDSL_API_KEYS": "k-123,k-456"})
    try:
        wait_until_up(proc, f"http://127.0.0.1:{port}", log)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
            assert c.get("/api/v1/schema").status_code == 401
            assert c.get("/api/v1/schema", headers={"authorization": "Bearer k-456"}).status_code == 200
        assert "the JSON API needs an API key (2 accepted)" in log.read_text(encoding="utf-8")
    finally:
        stop(proc)


# ------------------------------------------------------------------ the audit log


def test_decisions_go_to_the_audit_log(servers, policy):
    log = servers["audit_log"]
    example = REPO / "examples" / "usine-mecanique.yaml"
    data = as_json(example)
    with httpx.Client(base_url=servers["audited"], timeout=60) as c:
        assert not log.exists() or log.read_text() == ""
        first = c.post("/api/v1/evaluate", json={"assessment": data, "as_of": AS_OF})
        assert first.status_code == 200
        lines = log.read_text(encoding="utf-8").splitlines()
        decisions = len(first.json()["decisions"])
        assert len(lines) == 1 + 1 + decisions + 1  # the log's header, the evaluation, one record per decision, the commit
        second = c.post("/api/v1/evaluate", json={"assessment": data, "as_of": LATER, "decision": "risk"})
        assert second.status_code == 200
        assert c.post("/api/v1/evaluate", json={"assessment": {"organization": {"headcount": -1}}}).status_code == 422
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert len(entries) == 1 + 2 * (1 + decisions + 1)  # appended, not rewritten; nothing for the refused request
    evaluations = [e["entry"] for e in entries if e["entry"]["kind"] == "evaluation"]
    assert [e["as_of"] for e in evaluations] == [AS_OF, LATER]
    assessment = validate(policy, data, "x")
    assert evaluations[0]["assessment_sha256"] == assessment_sha256(assessment)
    assert evaluations[0]["policy_sha256"] == provenance(policy)["policy_sha256"]
    records = [e["entry"] for e in entries[2 : 2 + decisions]]
    assert [(r["decision"], r["entity"], r["outcome"]) for r in records] == [
        (d["decision"], d["entity"], d["outcome"]) for d in first.json()["decisions"]
    ]
    assert all(r["evaluation"] == evaluations[0]["id"] and r["explanation"] for r in records)
    done = subprocess.run([STRATDSL, "audit", "verify", str(log)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"ok, {len(entries)} entries, chain intact" in done.stdout


# ------------------------------------------------------------------ the web questionnaire (HTML, no browser)


def legends(page: str) -> list[str]:
    return [html.unescape(x) for x in re.findall(r"<legend>(.*?)</legend>", page)]


def test_the_questionnaire_form(client, policy):
    fr = client.get("/questionnaire", params={"lang": "fr"})
    assert fr.status_code == 200 and fr.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in fr.text and "<script" not in fr.text
    assert '<link rel="icon" href="data:,">' in fr.text  # no request for /favicon.ico
    assert "Nom de l&#x27;entreprise *" in fr.text and "Obtenir mon prédiagnostic" in fr.text
    # one block per repeated input, in express order, each with its own "add" button and count
    assert legends(fr.text) == [
        "Organisation",
        "Diagnostic de maturité",
        "Outils d'IA déjà utilisés — 1",
        "Cas d'usage (irritants) — 1",
    ]
    buttons = re.findall(r'<button type="submit" name="add" value="(\w+)" class="secondary">(.*?)</button>', fr.text)
    assert [(v, html.unescape(t)) for v, t in buttons] == [
        ("tools", "Ajouter : Outils d'IA déjà utilisés"),
        ("usecases", "Ajouter : Cas d'usage (irritants)"),
    ]
    assert '<input type="hidden" name="n.tools" value="1">' in fr.text
    assert '<input type="hidden" name="n.usecases" value="1">' in fr.text
    assert 'name="n"' not in fr.text
    en = client.get("/questionnaire", params={"lang": "en"})
    assert '<html lang="en">' in en.text and "Company name *" in en.text
    assert legends(en.text)[2:] == ["AI tools already in use — 1", "Use cases (irritants) — 1"]
    # the express questions only: a field without `express` (and not required) is not asked
    assert 'name="organization.headcount"' in fr.text and 'name="organization.annual_revenue"' not in fr.text
    assert 'name="tools.1.personal_data"' in fr.text and 'name="tools.1.confidential_data"' not in fr.text
    # "add" posts the form: one more block of that input, what was typed kept
    typed = {"lang": "en", "n.tools": "1", "n.usecases": "1", "organization.name": "Acme", "usecases.1.name": "Quotes"}
    two = client.post("/questionnaire", data={**typed, "add": "usecases"})
    assert two.status_code == 200
    assert 'name="usecases.2.name"' in two.text and 'value="Acme"' in two.text and 'value="Quotes"' in two.text
    assert 'name="n.usecases" value="2"' in two.text and 'name="n.tools" value="1"' in two.text
    assert 'name="tools.2.name"' not in two.text
    tool = client.post("/questionnaire", data={**typed, "n.usecases": "2", "add": "tools"})
    assert legends(tool.text)[2:] == [
        "AI tools already in use — 1",
        "AI tools already in use — 2",
        "Use cases (irritants) — 1",
        "Use cases (irritants) — 2",
    ]
    # an unknown input to add to is no "add": the form is evaluated (here: no error, a pre-diagnosis)
    other = client.post("/questionnaire", data={**typed, "add": "organization"})
    assert other.status_code == 200 and "<h1>Pre-diagnosis</h1>" in other.text


def test_the_questionnaire_says_what_to_fix(client):
    r = client.post("/questionnaire", data={"lang": "fr", "n.usecases": "1", "organization.headcount": "-3"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "Certaines réponses sont à corriger" in r.text
    assert "Nom de l&#x27;entreprise: réponse obligatoire" in r.text
    assert "Effectif (salariés): le minimum est 0" in r.text
    # a block with answers but no name; a number out of all reason; everything typed is kept
    r = client.post(
        "/questionnaire",
        data={
            "lang": "fr",
            "organization.name": "Acme",
            "usecases.1.hours_per_week": "3",
            "tools.1.name": "Copilot",
            "tools.1.approved": "oui",
            "n.usecases": "2",
            "usecases.2.name": "Devis",
            "usecases.2.hours_per_week": "1e-999999999",
        },
    )
    assert r.status_code == 422
    problems = [html.unescape(x) for x in re.findall(r"<li>(.*?)</li>", r.text)]
    assert problems == [
        "Intitulé : réponse obligatoire",
        "Heures passées par semaine sur la tâche (toutes personnes confondues): ce n'est pas un nombre raisonnable",
    ]
    assert 'value="1e-999999999"' in r.text and 'value="Copilot"' in r.text


def test_the_questionnaire_gives_the_prediagnosis(client, policy):
    form = {"lang": "en", "n.tools": "1", "n.usecases": "1", "organization.name": "Acme", "organization.headcount": "12"}
    form.update(
        {
            f"maturity.{d}.{lv}": "non"
            for d in ("data_quality", "processes", "skills", "culture", "governance")
            for lv in ("practiced", "documented", "owned", "measured", "improved")
        }
    )
    form.update({"usecases.1.name": "Quote costing", "usecases.1.inputs": "documents_text"})
    r = client.post("/questionnaire", data=form)
    assert r.status_code == 200, re.findall(r"<li>(.*?)</li>", r.text)[:5]
    assert "<h1>Pre-diagnosis</h1>" in r.text and '<link rel="icon" href="data:,">' in r.text
    assert "<thead><tr><th>Decision</th><th>For</th><th>Outcome</th><th>Sources</th></tr></thead>" in r.text
    assert "<td>AI maturity level</td><td></td><td>Exploratory</td>" in r.text
    assert re.search(r"<td>AI Act risk category</td><td>Quote costing</td><td>[^<]+</td>", r.text)  # the name given, not the slug
    link = re.search(r'download="evaluation.yaml" href="data:application/x-yaml;base64,([^"]+)"', r.text)
    saved = yaml.safe_load(base64.b64decode(link.group(1)))
    validate(policy, saved, "download")
    assert saved["organization"] == {"name": "Acme", "headcount": 12}
    assert [u["name"] for u in saved["usecases"]] == ["Quote costing"]
    assert "tools" not in saved  # the empty tool block is no tool
    assert 'download="rapport.html" href="data:text/html;base64,' in r.text
    fr = client.post("/questionnaire", data={**form, "lang": "fr"})
    assert "<thead><tr><th>Décision</th><th>Pour</th><th>Résultat</th><th>Sources</th></tr></thead>" in fr.text


def test_a_block_asks_only_its_own_input_questions(client, policy):
    page = client.get("/questionnaire", params={"lang": "en"}).text
    blocks = dict(re.findall(r"<fieldset><legend>([^<]*) — 1</legend>(.*?)</fieldset>", page))
    assert set(blocks) == {"AI tools already in use", "Use cases (irritants)"}
    assert set(re.findall(r'name="(\w+)\.1\.', blocks["AI tools already in use"])) == {"tools"}
    assert set(re.findall(r'name="(\w+)\.1\.', blocks["Use cases (irritants)"])) == {"usecases"}
    # a use case needs no tool name, and a tool is written only where one is filled in
    form = {"lang": "en", "organization.name": "Acme", "usecases.1.name": "Quote costing"}
    r = client.post("/questionnaire", data=form)
    assert r.status_code == 200, re.findall(r"<li>(.*?)</li>", r.text)[:5]
    saved = yaml.safe_load(base64.b64decode(re.search(r"data:application/x-yaml;base64,([^\"]+)", r.text).group(1)))
    assert "tools" not in saved and [u["id"] for u in saved["usecases"]] == ["quote-costing"]
    form.update({"n.tools": "2", "tools.2.name": "ChatGPT", "tools.2.personal_data": "oui", "tools.2.approved": "non"})
    r = client.post("/questionnaire", data=form)
    saved = yaml.safe_load(base64.b64decode(re.search(r"data:application/x-yaml;base64,([^\"]+)", r.text).group(1)))
    assert saved["tools"] == [{"id": "chatgpt", "name": "ChatGPT", "personal_data": True, "approved": False}]
    assert [u["id"] for u in saved["usecases"]] == ["quote-costing"]


def test_the_number_of_blocks_is_bounded(client):
    """n.tools / n.usecases are clamped to 1..10 (a tiny form cannot ask for a million blocks); the old `n` is gone."""
    r = client.post("/questionnaire", data={"lang": "fr", "n.usecases": "50", "n.tools": "1000000"})  # no company name
    assert r.status_code == 422
    shown = legends(r.text)
    assert shown.count("Cas d'usage (irritants) — 10") == 1 and "Cas d'usage (irritants) — 11" not in shown
    assert shown.count("Outils d'IA déjà utilisés — 10") == 1 and "Outils d'IA déjà utilisés — 11" not in shown
    assert 'name="n.usecases" value="10"' in r.text and 'name="n.tools" value="10"' in r.text
    r = client.post("/questionnaire", data={"lang": "fr", "n.usecases": "10", "add": "usecases"})
    assert "Cas d'usage (irritants) — 11" not in legends(r.text)
    for bad in ("0", "-3", "abc", ""):
        r = client.post("/questionnaire", data={"lang": "fr", "n.usecases": bad, "n": "7"})
        assert [x for x in legends(r.text) if x.startswith("Cas d'usage")] == ["Cas d'usage (irritants) — 1"], bad
    assert legends(client.get("/questionnaire", params={"lang": "fr", "n": "5"}).text)[2:] == [
        "Outils d'IA déjà utilisés — 1",
        "Cas d'usage (irritants) — 1",
    ]


def test_a_list_question_can_be_answered_none_in_the_web_form(client):
    """A list question has an "Aucun" / "None" box: ticked, the answer is the empty list (as `aucun` on
    the terminal), not unknown (no box ticked)."""
    page = client.get("/questionnaire", params={"lang": "fr"}).text
    group = re.search(r'aria-labelledby="usecases-1-generated_content-label">(.*?)</div>', page).group(1)
    boxes = {html.unescape(label).strip(): value for value, label in re.findall(r'value="([^"]*)"[^>]*> ([^<]*)</label>', group)}
    none = [value for label, value in boxes.items() if label.lower() in ("aucun", "aucune", "rien")]
    assert none, boxes
    form = {"lang": "fr", "organization.name": "Acme", "usecases.1.name": "Devis", "usecases.1.generated_content": none[0]}
    r = client.post("/questionnaire", data=form)
    saved = yaml.safe_load(base64.b64decode(re.search(r"data:application/x-yaml;base64,([^\"]+)", r.text).group(1)))
    assert saved["usecases"][0]["generated_content"] == []
    assert "frictions" not in saved["usecases"][0]  # no box ticked: unknown, as before
    # every list question has its box, in English too
    en = client.get("/questionnaire", params={"lang": "en"}).text
    for group in re.findall(r'<div class="choices" role="group"[^>]*>(.*?)</div>', en):
        assert group.endswith(f'value="{none[0]}"> None</label>'), group
    # "none" and a choice together: the form comes back, the boxes as they were ticked
    r = client.post("/questionnaire", data={**form, "usecases.1.generated_content": [none[0], "text"]})
    assert r.status_code == 422
    assert [html.unescape(x) for x in re.findall(r"<li>(.*?)</li>", r.text)] == [
        "Contenus générés ou modifiés par le système (liste vide si aucun): cochez « Aucun » ou des réponses, pas les deux"
    ]
    group = re.search(r'aria-labelledby="usecases-1-generated_content-label">(.*?)</div>', r.text).group(1)
    assert re.findall(r'value="([^"]*)" checked>', group) == ["text", none[0]]


def test_odd_form_fields_are_not_a_server_error(base):
    forms = {
        "add twice": {"lang": "fr", "add": ["tools", "usecases"]},
        "a superscript count": {"lang": "fr", "n.usecases": "²"},
        "a superscript choice": {"lang": "fr", "organization.name": "Acme", "organization.sector": "²"},
    }
    statuses = {}
    for what, form in forms.items():
        with FormClient(base_url=base, timeout=60) as own:  # the server drops the connection after a 500
            statuses[what] = own.post("/questionnaire", data=form).status_code
    assert all(status < 500 for status in statuses.values()), statuses


def test_the_english_form_has_english_punctuation(client):
    page = client.get("/questionnaire", params={"lang": "en"}).text
    assert ">Add: Use cases (irritants)</button>" in page
    r = client.post("/questionnaire", data={"lang": "en", "organization.name": "Acme", "usecases.1.hours_per_week": "3"})
    assert "<li>Title: answer required</li>" in r.text


# ------------------------------------------------------------------ OpenAPI and schemathesis


def test_openapi_lists_the_api(client):
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {"/api/v1/policy", "/api/v1/schema", "/api/v1/evaluate", "/api/v1/explain"}
    assert set(spec["paths"]["/api/v1/evaluate"]["post"]["responses"]) >= {"200", "422"}


def test_openapi_documents_the_error_format(client):
    """413 and 422 of both POST routes are the {errors: [...]} the API sends (ErrorBody), not FastAPI's HTTPValidationError."""
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/evaluate", "/api/v1/explain"):
        responses = spec["paths"][path]["post"]["responses"]
        assert set(responses) == {"200", "413", "422"}, path
        for status in ("413", "422"):
            assert responses[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    schemas = spec["components"]["schemas"]
    assert set(schemas["ErrorBody"]["properties"]) == {"errors"}
    assert set(schemas["ErrorItem"]["required"]) == {"code", "severity", "message"}
    assert "HTTPValidationError" not in schemas


def test_schemathesis_finds_no_server_error(base):
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import checks

    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} == {
        ("GET", "/api/v1/policy"),
        ("GET", "/api/v1/schema"),
        ("POST", "/api/v1/evaluate"),
        ("POST", "/api/v1/explain"),
    }
    wanted = [checks.not_a_server_error, checks.response_schema_conformance, checks.content_type_conformance]
    statuses: dict[tuple[str, str], set[int]] = {}

    def run_cases(op, mode):
        @given(case=op.as_strategy(generation_mode=mode))
        @settings(
            max_examples=25 if mode == schemathesis.GenerationMode.POSITIVE else 15,
            deadline=None,
            database=None,
            derandomize=True,  # the same cases on every run
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def check(case):
            response = case.call_and_validate(base_url=base, checks=wanted, timeout=30)
            statuses.setdefault((op.path, mode.value), set()).add(response.status_code)

        return check

    started = time.monotonic()
    for op in operations:
        modes = [schemathesis.GenerationMode.POSITIVE]
        if op.method.upper() == "POST":  # a GET without parameters has no invalid form
            modes.append(schemathesis.GenerationMode.NEGATIVE)
        for mode in modes:
            run_cases(op, mode)()
    assert time.monotonic() - started < 60
    assert statuses[("/api/v1/policy", "positive")] == {200}
    # random assessments are mostly refused (422); one known-good case of each POST checks a 200 too
    good = {"/api/v1/evaluate": {"assessment": {}}, "/api/v1/explain": {"assessment": {}, "decision": "maturity_level"}}
    for op in operations:
        if op.path in good:
            case = op.Case(body=good[op.path], media_type="application/json")
            assert case.call_and_validate(base_url=base, checks=wanted, timeout=30).status_code == 200
    assert all(code < 500 for codes in statuses.values() for code in codes), statuses


# ------------------------------------------------------------------ the answers' bytes (orjson when installed)


@pytest.mark.parametrize("example", sorted(p.stem for p in (REPO / "examples").glob("*.yaml")))
def test_json_answers_are_the_bytes_json_dumps_writes(policy, example):
    """`json_bytes` (orjson when installed) writes what Starlette's JSONResponse wrote with
    json.dumps, for every example's full answer and every explanation with why-not."""
    from datetime import date

    from stratdsl.commands.service import json_bytes
    from stratdsl.engine import explain, run
    from stratdsl.render.json_out import explanation_json, result_json
    from stratdsl.runtime.assessment import read_data

    def reference(content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")

    path = REPO / "examples" / f"{example}.yaml"
    data, spans = read_data(path, path.name)
    facts = validate(policy, data, path.name, spans)
    result, _ = run(policy, facts, date(2026, 11, 26))
    for lang in ("fr", "en"):
        out = result_json(policy, result, lang)
        assert json_bytes(out) == reference(out)
    for name, decision in policy.decisions.items():
        for x, why in explain(policy, facts, name, date(2026, 11, 26), {}, None, decision.outcomes[0].name, (), symbolic=False):
            out = {"explanations": [explanation_json(policy, x, "en", why)]}
            assert json_bytes(out) == reference(out)


def test_json_bytes_leaves_what_orjson_refuses_to_json_dumps():
    from stratdsl.commands.service import json_bytes

    big = {"n": 10**30, "1": [True, None, "é"]}
    assert json_bytes(big) == b'{"n":1000000000000000000000000000000,"1":[true,null,"\xc3\xa9"]}'
    assert json_bytes({1: "a"}) == b'{"1":"a"}'
