"""The CLI in the user's language: golden text in French and English, the default language,
and the terminal niceties (diff width, batch progress, serve's address).

Golden files: tests/golden/cli/ (STRATDSL_REGEN=1 rewrites them).
"""

from __future__ import annotations

import os
import pty
import random
import re
import select
import subprocess
import time
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from helpers import GOLDEN, REPO, compare_golden, stratdsl_command
from stratdsl.commands import cli
from stratdsl.commands.progress import batch_progress
from stratdsl.engine import compile_text
from stratdsl.provenance import semdiff

GOLDEN_CLI = GOLDEN / "cli"
POLICY = REPO / "policies" / "strategy.strat"
CABINET = REPO / "examples" / "cabinet-comptable.yaml"
EXPRESS = REPO / "examples" / "diagnostic-express-incomplet.yaml"


def run(*args, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*stratdsl_command(), *map(str, args)], capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=REPO)


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("eval_cabinet", ["eval", POLICY.relative_to(REPO), CABINET.relative_to(REPO), "--as-of", "2026-11-26"]),
        ("eval_express", ["eval", POLICY.relative_to(REPO), EXPRESS.relative_to(REPO), "--as-of", "2026-11-26"]),
        ("explain_quadrant", ["explain", POLICY.relative_to(REPO), CABINET.relative_to(REPO), "quadrant", "--for", "tri-cv", "--why-not", "quick_win", "--as-of", "2026-11-26"]),
        ("check", ["check", POLICY.relative_to(REPO)]),
    ],
)
def test_golden_text_in_both_languages(name, args, lang):
    done = run(*args, "--lang", lang)
    assert done.returncode == 0, done.stderr
    GOLDEN_CLI.mkdir(exist_ok=True)
    compare_golden(GOLDEN_CLI / f"{name}.{lang}.txt", done.stdout)


def test_labels_first_codes_second():
    done = run("eval", POLICY, CABINET, "--as-of", "2026-11-26", "--lang", "fr")
    assert "  quadrant : Priorité immédiate (quick_win)  [policies/impact-effort.strat:199]" in done.stdout
    assert "au 2026-11-26" in done.stdout.splitlines()[1]


def test_the_default_language_is_the_policys_first_then_lang(tmp_path):
    french_first = run("eval", POLICY, CABINET, "--as-of", "2026-11-26", env={"LANG": "en_US.UTF-8"})
    assert french_first.stdout.splitlines()[1].startswith("au 2026-11-26")
    english_first = tmp_path / "p.strat"
    english_first.write_text('policy "P" version "1"\n  label en "English first" fr "Anglais d\'abord"\ndecision d { yes when true }\n')
    (tmp_path / "a.yaml").write_text("{}\n")
    done = run("eval", english_first, tmp_path / "a.yaml", "--as-of", "2026-11-26", env={"LANG": "fr_FR.UTF-8"})
    assert done.stdout.splitlines()[1].startswith("as of 2026-11-26 · assessment"), done.stdout + done.stderr
    unlabelled = tmp_path / "u.strat"
    unlabelled.write_text('policy "P" version "1"\ndecision d { yes when true }\n')
    for env, first in (({"LANG": "fr_FR.UTF-8", "LC_ALL": ""}, "au 2026-11-26"), ({"LANG": "C.UTF-8", "LC_ALL": ""}, "as of 2026-11-26")):
        done = run("eval", unlabelled, tmp_path / "a.yaml", "--as-of", "2026-11-26", env=env)
        assert done.stdout.splitlines()[1].startswith(first + " · "), (env, done.stdout, done.stderr)


def test_error_summaries_speak_the_language():
    done = run("eval", POLICY, REPO / "examples" / "nope.yaml", "--lang", "fr")
    assert done.returncode == 1
    assert done.stderr.rstrip().endswith("stratdsl: 1 erreur, 0 avertissement")
    done = run("eval", POLICY, REPO / "examples" / "nope.yaml", "--lang", "en")
    assert done.stderr.rstrip().endswith("stratdsl: 1 error, 0 warnings")


@pytest.mark.parametrize(("lang", "cite"), [("fr", "cite : (citations de prohibited_practice)"), ("en", "cites: (citations of prohibited_practice)")])
def test_a_rule_citing_a_decision_is_said_in_the_users_language(lang, cite):
    done = run("explain", POLICY, REPO / "examples" / "studio-conseil-10.yaml", "risk", "--for", "posts-reseaux", "--as-of", "2026-11-26", "--lang", lang)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    rule = next(i for i, line in enumerate(lines) if "risk.prohibited → prohibited" in line)
    assert lines[rule + 1].strip() == cite


PROVE_POLICY = """policy "Petite" version "1"
  label fr "Petite méthode" en "Small method"
input org { a: integer 0..3  ok: bool }
decision verdict {
  top when org.a >= 2 and org.ok
  otherwise bottom
}
assert top_needs_ok: verdict != top or org.ok
assert never_bottom: verdict != bottom
"""


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_prove_speaks_the_users_language(tmp_path, lang):
    (tmp_path / "p.strat").write_text(PROVE_POLICY, encoding="utf-8")
    done = subprocess.run([*stratdsl_command(), "prove", "p.strat", "--as-of", "2026-09-01", "--lang", lang],
                          capture_output=True, text=True, cwd=tmp_path, env=os.environ)
    assert done.returncode == 1, done.stderr  # never_bottom has a counterexample
    GOLDEN_CLI.mkdir(exist_ok=True)
    compare_golden(GOLDEN_CLI / f"prove.{lang}.txt", re.sub(r"\[\d+\.\d\d s\]", "[… s]", done.stdout))


def test_prove_defaults_to_the_policys_first_language(tmp_path):
    (tmp_path / "p.strat").write_text(PROVE_POLICY, encoding="utf-8")
    done = subprocess.run([*stratdsl_command(), "prove", "p.strat", "--as-of", "2026-09-01", "--only", "top_needs_ok"],
                          capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "LANG": "en_US.UTF-8", "LC_ALL": ""})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("top_needs_ok (p.strat:8) : démontrée pour 0 à 2 entités par liste  ["), done.stdout


@pytest.mark.parametrize("command", ["check", "fmt", "test", "eval", "explain", "diff", "batch", "diagnose", "serve", "replay", "init", "report", "prove"])
def test_every_command_that_prints_words_has_lang(command):
    result = CliRunner().invoke(cli.main, [command, "--help"])
    assert "--lang [fr|en]" in result.output, command


# ------------------------------------------------------------------ diff width


def _diff_with_wide_explanations() -> semdiff.PolicyDiff:
    before = {
        "decision": {"decision": "risk", "status": "decided", "outcome": "high", "label": "High", "rule": "risk.high", "location": "p.strat:3", "cites": []},
        "as_of": "2026-11-26",
        "rules": [{"rule": "risk.high", "outcome": "high", "status": "fired", "location": "p.strat:3", "cites": [{"text": "AI Act Annex III 4(a) " * 3}]}],
    }
    after = {**before, "decision": {**before["decision"], "outcome": "low", "label": "Low"}}
    change = semdiff.DecisionChange("a.yaml", "risk", None, before, after, ["outcome"])
    return semdiff.PolicyDiff([semdiff.Change("rule", "risk.high", "changed", "condition")], [change], ["a.yaml"])


def test_diff_fits_the_terminal_width():
    diff = _diff_with_wide_explanations()
    wide = semdiff.render_text(diff, "en", None)
    assert "BEFORE" in wide and "| AFTER" in wide  # side by side when there is no limit
    for width in (60, 80):
        narrow = semdiff.render_text(diff, "en", width)
        assert max(len(line) for line in narrow.splitlines()) <= width
        assert "--- BEFORE" in narrow and "--- AFTER" in narrow  # stacked
    french = semdiff.render_text(diff, "fr", 60)
    assert "--- AVANT" in french and "Changements de la méthode :" in french


def test_diff_names_outcomes_label_first_code_second():
    diff = _diff_with_wide_explanations()
    line = next(li for li in semdiff.render_text(diff, "en", None).splitlines() if li.startswith("  a.yaml: risk: "))
    assert line.startswith("  a.yaml: risk: High (high) → Low (low)  (changed: outcome)"), line


def test_diff_on_a_terminal_uses_its_width(tmp_path):
    """Through a pseudo-terminal: the command reads the width and stacks what does not fit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    policy = repo / "p.strat"
    policy.write_text(
        'policy "P" version "1"\nsource law "AI Act (Regulation (EU) 2024/1689)"\ninput org { size: integer 0..1000 }\n'
        'decision d { big when org.size > 10 cites law "Annex III point 4(a), a long citation text to fill the line" otherwise small }\n'
    )
    (repo / "a.yaml").write_text("org: {size: 20}\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "one"], cwd=repo, check=True)
    policy.write_text(policy.read_text().replace("> 10", "> 30"))
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*stratdsl_command(), "diff", "p.strat", "a.yaml", "--from", "HEAD", "--as-of", "2026-11-26", "--lang", "en"],
        cwd=repo, stdout=follower, stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "50", "LINES": "40"},
    )
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    out = b"".join(chunks).decode().replace("\r\n", "\n")
    assert proc.returncode == 0, proc.stderr.read()
    assert "--- BEFORE" in out and "--- AFTER" in out
    assert max(len(line) for line in out.splitlines()) <= 50


# ------------------------------------------------------------------ batch progress


def test_batch_progress_is_a_plain_periodic_line_off_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr("stratdsl.commands.progress.PLAIN_EVERY", 2)
    with batch_progress(lambda: 5, "fr", tty=False) as update:
        for n in range(1, 6):
            update(SimpleNamespace(processed=n, skipped=0, invalid=0))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("stratdsl: 2 traitées (0 invalides), ") and lines[0].endswith("/s")


def test_batch_progress_is_a_bar_with_total_rate_and_eta_on_a_terminal(monkeypatch, capsys):
    with batch_progress(lambda: 4, "en", tty=True) as update:
        for n in range(1, 5):
            update(SimpleNamespace(processed=n, skipped=0, invalid=0))
    err = capsys.readouterr().err
    assert "4/4" in err and "100%" in err and "/s" in err and "time left" in err


# ------------------------------------------------------------------ serve


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_serve_prints_its_address_and_how_to_stop_once_in_the_users_language(lang):
    port = random.randint(20000, 60000)
    policy = POLICY.relative_to(REPO)
    proc = subprocess.Popen([*stratdsl_command(), "serve", str(policy), "--port", str(port), "--lang", lang],
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if "Ctrl+C" in line:
                break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    said = "\n".join(lines).replace(str(port), "PORT") + "\n"
    # the address is said once (it was twice, the second time in English)
    assert said.count("http://127.0.0.1:PORT/questionnaire") == 1
    compare_golden(GOLDEN_CLI / f"serve_startup.{lang}.txt", said)


def test_diff_says_what_changed_in_the_users_language():
    """The kind of each change and its detail are translated; names and values are not."""
    old, _ = compile_text('policy "p" version "1"\nparam weeks: number = 18\ninput o { n: number }\n'
                          "decision d { big when o.n > weeks  otherwise small }\n", "p.strat")
    new, _ = compile_text('policy "p" version "2"\nparam weeks: number = 9\ninput o { n: number }\n'
                          "decision d { big when o.n >= weeks  otherwise small }\n", "p.strat")
    diff = semdiff.PolicyDiff(semdiff.compare_policies(old, new), [], [])
    english = semdiff.render_text(diff, "en", None)
    french = semdiff.render_text(diff, "fr", None)
    assert "parameter weeks: default 18 → 9" in english and "rule d.big: condition" in english
    assert "paramètre weeks : valeur par défaut 18 → 9" in french and "règle d.big : condition" in french
    assert "méthode p : version 1 → 2" in french
    assert "parameter" not in french and "default" not in french


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_help_is_in_the_users_language(lang):
    """`--help` speaks `--lang` (anywhere on the line), and click's frame with it."""
    done = subprocess.run([*stratdsl_command(), "explain", "--help", "--lang", lang], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "100"}, cwd=REPO)
    assert done.returncode == 0, done.stderr
    compare_golden(GOLDEN_CLI / f"help_explain.{lang}.txt", done.stdout)


def test_help_follows_the_environment_and_goes_back_to_english():
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES")}
    french = subprocess.run([*stratdsl_command(), "--help"], capture_output=True, text=True, env={**env, "LANG": "fr_FR.UTF-8"})
    assert "Utilisation :" in french.stdout and "Commandes :" in french.stdout and "Commands:" not in french.stdout
    # in one process (the test runner, the language server), a French help does not stay French
    from stratdsl.commands.helptext import localize

    localize(cli.main, "fr")
    english = CliRunner().invoke(cli.main, ["check", "--help", "--lang", "en"])
    assert english.output.startswith("Usage: main check") and "Options:" in english.output
    assert CliRunner().invoke(cli.main, ["check", "--help", "--lang", "fr"]).output.startswith("Utilisation : main check")
    localize(cli.main, "en")
