"""``ember.codecache``: generated code is compiled once and loaded afterwards, only ever
for exactly its source; a damaged or colliding entry is compiled afresh; an empty
setting turns the cache off; the ops' generated code goes through it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from ember import codecache

SOURCE = "def f(x):\n    return x * K + 1\n"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(codecache.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(codecache, "_NEW", {})
    return tmp_path


@pytest.fixture
def compiles(monkeypatch):
    """The sources the cache hands to ``compile``."""
    seen = []
    real = compile
    monkeypatch.setattr(codecache, "compile",
                        lambda src, *a: (seen.append(src), real(src, *a))[1], raising=False)
    return seen


def _files(folder) -> list:
    return [p for p in folder.rglob("*.code")]


def test_compiled_once_then_loaded(cache, compiles):
    env = codecache.exec_generated(SOURCE, "<ember test f>", {"K": 3})
    assert env["f"](2) == 7 and compiles == [SOURCE]
    assert _files(cache) == []  # written at exit, not on the op's first call
    codecache._save()
    assert len(_files(cache)) == 1
    env = codecache.exec_generated(SOURCE, "<ember test f>", {"K": 5})
    assert env["f"](2) == 11 and compiles == [SOURCE]  # loaded, run in its own namespace
    assert env["f"].__code__.co_filename == "<ember test f>"


def test_other_source_or_file_name_is_compiled(cache, compiles):
    codecache.compile_generated(SOURCE, "<ember test f>")
    codecache._save()
    other = SOURCE.replace("+ 1", "+ 2")
    codecache.compile_generated(other, "<ember test f>")
    codecache.compile_generated(SOURCE, "<ember test g>")
    assert compiles == [SOURCE, other, SOURCE]


def test_a_colliding_or_damaged_entry_is_compiled_afresh(cache, compiles, monkeypatch):
    codecache.compile_generated(SOURCE, "<ember test f>")
    codecache._save()
    # another source whose file name collides: the stored source differs, so it compiles
    monkeypatch.setattr(codecache, "_name", lambda source, filename: "same.code")
    codecache.compile_generated(SOURCE, "<ember test f>")
    codecache._save()
    other = "def f(x):\n    return -x\n"
    code = codecache.compile_generated(other, "<ember test f>")
    env = {}
    exec(code, env)
    assert env["f"](2) == -2 and compiles == [SOURCE, SOURCE, other]
    # a damaged file: compiled, and replaced at exit
    (path,) = [p for p in _files(cache) if p.name == "same.code"]
    path.write_bytes(b"\x00garbage")
    code = codecache.compile_generated(SOURCE, "<ember test f>")
    env = {"K": 1}
    exec(code, env)
    assert env["f"](2) == 3 and compiles[-1] == SOURCE and len(compiles) == 4
    codecache._save()
    codecache.compile_generated(SOURCE, "<ember test f>")
    assert len(compiles) == 4


def test_empty_setting_turns_the_cache_off(tmp_path, monkeypatch, compiles):
    monkeypatch.setenv(codecache.CACHE_ENV, "")
    monkeypatch.setattr(codecache, "_NEW", {})
    assert codecache.cache_dir() is None
    codecache.compile_generated(SOURCE, "<ember test f>")
    codecache.compile_generated(SOURCE, "<ember test f>")
    codecache._save()
    assert compiles == [SOURCE, SOURCE] and not os.listdir(tmp_path)


def test_the_limit_bounds_the_files_and_a_full_folder_starts_afresh(cache, monkeypatch,
                                                                    compiles):
    monkeypatch.setattr(codecache, "LIMIT", 3)
    for k in range(5):  # more than the folder may hold: the first three are kept
        codecache.compile_generated(f"x = {k}\n", "<ember test limit>")
    codecache._save()
    assert len(_files(cache)) == 3
    for k in range(3):
        codecache.compile_generated(f"x = {k}\n", "<ember test limit>")
    assert len(compiles) == 5  # loaded
    codecache.compile_generated("x = 9\n", "<ember test limit>")
    codecache._save()  # full: emptied, then the new entry written
    assert len(_files(cache)) == 1
    codecache.compile_generated("x = 9\n", "<ember test limit>")
    codecache.compile_generated("x = 0\n", "<ember test limit>")
    assert compiles[6:] == ["x = 0\n"]


def test_a_later_process_compiles_none_of_an_ops_code(tmp_path):
    # the first process compiles the generated entry points, runners and recorders of
    # its ops and saves them at exit; the second loads every one
    script = textwrap.dedent("""
        import builtins
        import ember
        from ember import codecache
        made = []
        real = builtins.compile
        codecache.compile = lambda src, name, mode: (made.append(name), real(src, name, mode))[1]
        x = ember.tensor([1.0, 2.0], requires_grad=True)
        (x * 3 + x.relu()).sum().backward()
        print(len(made), x.grad.tolist())
    """)
    env = dict(os.environ, **{codecache.CACHE_ENV: str(tmp_path)})
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, check=True).stdout.split(maxsplit=1) for _ in range(2)]
    assert int(runs[0][0]) > 5, runs
    assert runs[1] == ["0", runs[0][1]], runs
    assert runs[0][1].strip() == "[4.0, 4.0]"
