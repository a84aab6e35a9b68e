"""`stratdsl --help` in the user's language.

The help is shown before any policy is read, so its language is `--lang` when
it is on the command line (anywhere: `stratdsl eval --help --lang fr`), else
the environment's (`LC_ALL`, `LC_MESSAGES`, `LANG`), else English. The help
texts stay written in English where the commands are declared (cli.py); when
the language is not English, `localize` replaces each command's and option's
help by its translation from the one catalogue, and gives every context a
formatter that says click's own frame ("Usage:", "Options", "Commands") from
the catalogue too. tests/test_catalogue.py walks the command tree so that every
help text has its French entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import click

from ..render.catalogue import N_, env_lang, gettext_for

#: the language the tree's help is in now
_current = "en"

#: click's frame words, said through our catalogue (click's own are English only)
FRAME = {"Usage:": N_("Usage:"), "Options": N_("Options"), "Commands": N_("Commands"), "Arguments": N_("Arguments")}


def help_lang(args: Sequence[str]) -> str:
    """The language of the help: `--lang X` / `--lang=X` on the line, else the environment's."""
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args) and args[i + 1] in ("fr", "en"):
            return args[i + 1]
        if arg in ("--lang=fr", "--lang=en"):
            return arg.split("=", 1)[1]
    return env_lang() or "en"


def commands(root: click.Command) -> Iterator[click.Command]:
    """Every command of the tree, the root first."""
    yield root
    if isinstance(root, click.Group):
        ctx = click.Context(root)
        for name in root.list_commands(ctx):
            sub = root.get_command(ctx, name)
            if sub is not None:
                yield from commands(sub)


def _english(item: object) -> str | None:
    """The help as declared (kept the first time it is localized, so that a later command in
    the same process — tests, the language server — starts again from English)."""
    if not hasattr(item, "_help_en"):
        item._help_en = getattr(item, "help", None)  # type: ignore[attr-defined]
    return item._help_en  # type: ignore[attr-defined]


def _items(cmd: click.Command) -> list[object]:
    option = cmd.get_help_option(click.Context(cmd))
    return [cmd, *cmd.params, *([option] if option else [])]


def help_texts(root: click.Command) -> list[str]:
    """Every help text of the tree, in English (commands, options, the help and version options)."""
    texts: list[str] = []
    for cmd in commands(root):
        for item in _items(cmd):
            text = _english(item)
            if text and text not in texts:
                texts.append(text)
    return texts


def localize(root: click.Command, lang: str) -> None:
    """Put the tree's help in `lang` (English: as declared)."""
    global _current
    if lang == _current:
        return  # the common case, English from a fresh process: nothing to walk
    _current = lang
    _ = gettext_for(lang)
    context = click.Context
    if lang != "en":
        context = type("LocalizedContext", (click.Context,), {"formatter_class": _formatter(_, " :" if lang == "fr" else ":")})
    for cmd in commands(root):
        for item in _items(cmd):
            text = _english(item)
            if text:
                item.help = _(text)  # type: ignore[attr-defined]
        cmd.context_class = context


def _formatter(_: Callable[[str], str], colon: str) -> type[click.HelpFormatter]:
    class LocalizedFormatter(click.HelpFormatter):
        def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
            super().write_usage(prog, args, f"{_(FRAME['Usage:'])} " if prefix is None else prefix)

        def write_heading(self, heading: str) -> None:
            self.write(f"{'':>{self.current_indent}}{_(heading)}{colon}\n")

    return LocalizedFormatter


class LocalizedGroup(click.Group):
    """The root command: its help, and its commands', in the help's language."""

    def main(self, args: Sequence[str] | None = None, *rest: object, **kwargs: object) -> object:  # type: ignore[override]
        import sys

        localize(self, help_lang(sys.argv[1:] if args is None else list(args)))
        return super().main(args, *rest, **kwargs)  # type: ignore[arg-type]
