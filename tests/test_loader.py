"""Reading policy files (loader.py): what is read, what is refused, and with which code.

The folder rules (imports may not leave the root policy's folder) and the per-file and
per-import limits are in tests/test_security.py; this file covers how a single file is
read: byte-order marks, files that are not regular files, names that cannot be files,
and the total size of a policy with its imports.
"""

from __future__ import annotations

import os
import time

from helpers import stage_error
from stratdsl.engine import require_policy
from stratdsl.language import loader
from stratdsl.language.loader import MAX_FILE_BYTES, load_policy, read_source

HEADER = 'policy "p" version "1"\n'


def test_a_byte_order_mark_is_not_part_of_the_text(tmp_path):
    path = tmp_path / "bom.strat"
    path.write_bytes("\ufeff".encode() + (HEADER + "input o { x: number }\ndefine y = o.z\n").encode())
    source = read_source(path)
    assert source.text.startswith("policy")
    (d,) = stage_error(require_policy, path)
    assert (d.code, d.span.line, d.span.column) == ("E012", 3, 12)  # columns count from after the mark


def test_only_a_leading_byte_order_mark_is_removed(tmp_path):
    path = tmp_path / "bom.strat"
    path.write_bytes(("\ufeff" + HEADER + 'define y label en "a\ufeffb" = 1\n').encode())
    assert read_source(path).text.count("\ufeff") == 1


def test_a_folder_is_not_a_policy_file(tmp_path):
    (d,) = stage_error(read_source, tmp_path)
    assert d.code == "E004" and d.message.endswith("it is a folder")


def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    pipe = tmp_path / "pipe.strat"
    os.mkfifo(pipe)
    start = time.monotonic()
    (d,) = stage_error(read_source, pipe)
    assert d.code == "E004" and d.message.endswith("it is not a regular file")
    assert time.monotonic() - start < 2


def test_a_file_is_read_up_to_the_limit_only(tmp_path, monkeypatch):
    path = tmp_path / "big.strat"
    path.write_text(HEADER + "#" * 200 + "\n", encoding="utf-8")
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 100)
    (d,) = stage_error(read_source, path)
    assert d.code == "E005" and "above the limit of 100" in d.message
    assert MAX_FILE_BYTES == 2_000_000


def test_a_nul_character_in_an_import_is_e006(tmp_path):
    (tmp_path / "main.strat").write_text(HEADER + 'import "a\x00b.strat"\n', encoding="utf-8")
    (d,) = stage_error(load_policy, tmp_path / "main.strat")
    assert d.code == "E006" and d.span.line == 2 and "\\0" in d.message and "\x00" not in d.message


def test_a_nul_character_in_a_path_given_directly_is_e004(tmp_path):
    (d,) = stage_error(read_source, tmp_path / "a\x00b.strat")
    assert d.code == "E004"
    (d,) = stage_error(load_policy, str(tmp_path / "a\x00b.strat"))
    assert d.code == "E004"


def test_a_symlink_loop_is_e004(tmp_path):
    (tmp_path / "loop.strat").symlink_to(tmp_path / "loop.strat")
    (tmp_path / "main.strat").write_text(HEADER + 'import "loop.strat"\n', encoding="utf-8")
    (d,) = stage_error(load_policy, tmp_path / "main.strat")
    assert d.code == "E004" and d.span.line == 2


def test_the_files_of_a_policy_are_limited_in_total(tmp_path, monkeypatch):
    for i in range(4):
        (tmp_path / f"p{i}.strat").write_text(f'policy "p{i}" version "1"\n' + "#" * 300 + "\n", encoding="utf-8")
    for parts in (3, 4):
        imports = "".join(f'import "p{i}.strat"\n' for i in range(parts))
        (tmp_path / f"main{parts}.strat").write_text(HEADER + imports, encoding="utf-8")
    sizes = {path.name: path.stat().st_size for path in tmp_path.iterdir()}
    # exactly at the limit with three parts
    monkeypatch.setattr(loader, "MAX_TOTAL_BYTES", sizes["main3.strat"] + 3 * sizes["p0.strat"])
    assert len(load_policy(tmp_path / "main3.strat").modules) == 4
    # one more part goes past it, at its import line
    monkeypatch.setattr(loader, "MAX_TOTAL_BYTES", sizes["main4.strat"] + 3 * sizes["p0.strat"])
    (d,) = stage_error(load_policy, tmp_path / "main4.strat")
    assert d.code == "E005" and d.span.line == 5
    assert f"above the limit of {loader.MAX_TOTAL_BYTES} for all files together" in d.message
