"""How every `stratdsl` command ends on an error: exit codes, diagnostics, no traceback.

Shared by the main command group (cli.py) and the commands registered on it from
other packages (report/cli.py), so that they all fail the same way.

Exit codes: 0 success; 1 a bad policy or assessment (the diagnostics say why);
2 a usage error (click's own); 3 an internal error, which says so and asks for a
bug report (STRATDSL_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..language.diagnostics import Diagnostic, StratError, sorted_diagnostics
from ..language.messages import N_, Msg
from ..language.source import SourceMap
from ..render import diagnostics as render_diags
from ..render.catalogue import default_lang

if TYPE_CHECKING:  # (the AST costs ~0.1 s to import: not for `--version`)
    from ..language import ir

EXIT_BAD_INPUT = 1
EXIT_INTERNAL = 3

#: The language of the running command's words, once known (`--lang`, else the policy's, else LANG).
LANG: list[str] = []

#: The sources of the policies a command has loaded, newest last: diagnostics are
#: shown with their source lines when the file they point at is known.
SOURCES: list[SourceMap] = []

F = TypeVar("F", bound=Callable[..., Any])


def emit_diagnostics(diagnostics: list[Diagnostic], sources: SourceMap | None, fmt: str = "text") -> None:
    if not diagnostics:
        return
    if fmt == "json":
        click.echo(render_diags.render_json(sorted_diagnostics(diagnostics)))
        return
    click.echo(render_diags.render_text(sorted_diagnostics(diagnostics), sources, current_lang()), err=True)


def guarded(func: F | None = None, *, sources: Callable[[dict[str, Any]], SourceMap | None] | None = None) -> Any:
    """Turn StratError into rendered diagnostics and exit 1; never let a traceback through.

    `sources(kwargs)` finds the policy's sources for a command that does not record
    them in SOURCES."""

    def decorate(inner: F) -> F:
        @functools.wraps(inner)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # this command's language from its start: an error raised before the command
            # resolves it (a bad option) still speaks `--lang`, never a previous command's
            LANG.clear()
            if kwargs.get("lang"):
                LANG.append(kwargs["lang"])
            try:
                return inner(*args, **kwargs)
            except StratError as error:
                known = sources(kwargs) if sources else (SOURCES[-1] if SOURCES else None)
                emit_diagnostics(error.diagnostics, known)
                click.echo(f"stratdsl: {render_diags.summary(error.diagnostics, current_lang())}", err=True)
                sys.exit(EXIT_BAD_INPUT)
            except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit, KeyboardInterrupt):
                raise
            except BrokenPipeError:  # the reader (e.g. `| head`) stopped early: not an error of ours
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                sys.exit(0)
            except Exception as error:  # an internal error: ours, not the user's
                if os.environ.get("STRATDSL_DEBUG"):
                    traceback.print_exc()
                click.echo(
                    f"stratdsl: internal error ({type(error).__name__}: {error}). This is a bug in stratdsl, not in your files; "
                    "please report it with the command you ran (STRATDSL_DEBUG=1 shows details).",
                    err=True,
                )
                sys.exit(EXIT_INTERNAL)

        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate


def current_lang() -> str:
    return LANG[-1] if LANG else default_lang()


def resolve_lang(explicit: str | None, policy: ir.CheckedPolicy | None = None) -> str:
    """The language of this command's words: `--lang`, else the policy's first language, else
    LANG; remembered so that an error later in the command speaks it too."""
    lang = default_lang(policy, explicit)
    LANG.append(lang)
    return lang


def as_of_date(value: str | None) -> date:
    """The `--as-of` option as a date (today when not given); E342 when it is not YYYY-MM-DD,
    coded and exiting 1 like a bad `--param`."""
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise StratError(
            [
                Diagnostic(
                    "E342",
                    Msg(N_("--as-of: '{value}' is not a date"), value=value),
                    hint=Msg(N_("write the date as YYYY-MM-DD, e.g. --as-of {example}"), example="2026-08-02"),
                )
            ]
        ) from None
