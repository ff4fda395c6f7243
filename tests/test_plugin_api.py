"""The versioned plugin API: the version rule, the primitive set and calling convention
each version carries, and what an older plugin gets for a newer primitive."""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

import ember
from ember import plugin_api
from ember.dispatch import clear_cache
from ember.schema import registry

from test_plugins import ToyPlugin

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _primitives() -> set[str]:
    return {n for n, od in registry.items() if od.is_primitive}


def _owed() -> set[str]:
    return {n for n in _primitives() if registry[n].decomposition is None}


@pytest.mark.parametrize("declared, loads", [
    ("1.0", True), (plugin_api.PLUGIN_API_VERSION, True), ("1.9", False), ("2.0", False),
    ("0.9", False), ("1", False), ("one", False), ("1.x", False),
])
def test_the_version_rule(declared, loads):
    if loads:
        assert plugin_api.check(declared, "plugin 'p'") == declared
    else:
        with pytest.raises(ember.PluginError, match=r"plugin 'p' .*'?" + re.escape(declared)):
            plugin_api.check(declared, "plugin 'p'")


def test_a_missing_version_says_what_to_declare():
    with pytest.raises(ember.PluginError, match="does not declare the plugin API it targets "
                                                r"\(set EMBER_PLUGIN_API = '1\.3'"):
        plugin_api.check(None, "plugin 'p'")


def test_every_primitive_belongs_to_exactly_one_version():
    versions = list(plugin_api.PRIMITIVES)
    assert versions == sorted(versions, key=plugin_api.parse)
    # every minor version of the current major has its entry, the last is the core's
    major, minor = plugin_api.parse(plugin_api.PLUGIN_API_VERSION)
    assert versions[-1] == plugin_api.PLUGIN_API_VERSION
    assert [plugin_api.parse(v) for v in versions] == [(major, m) for m in range(minor + 1)]
    listed = [n for names in plugin_api.PRIMITIVES.values() for n in names]
    assert len(listed) == len(set(listed)), "a primitive is listed under two versions"
    added = _primitives() - set(listed)
    removed = set(listed) - _primitives()
    assert not added, (f"primitives {sorted(added)} belong to no plugin-API version: bump "
                       f"PLUGIN_API_VERSION's minor and list them under it in "
                       f"ember/plugin_api.py (each needs a decomposition, or older "
                       f"backends raise 'needs plugin API >= ...')")
    assert not removed, (f"primitives {sorted(removed)} are gone from the registry: that "
                         f"breaks plugins written for them (a major version)")


def test_the_calling_convention_is_the_versioned_one():
    digest = plugin_api.signatures_digest(registry)
    assert digest == plugin_api.SIGNATURES_DIGEST, (
        f"a primitive's signature (what its kernels receive) changed: that is a new "
        f"plugin-API version (minor for an added keyword with a default the core fills "
        f"in, else major); bump PLUGIN_API_VERSION and set SIGNATURES_DIGEST = {digest!r}")


def test_since_names_the_version_of_a_primitive():
    assert plugin_api.since("add") == "1.0"
    assert plugin_api.since("softmax") is None  # composite: not in the primitive set


@pytest.fixture
def toy_1_0():
    """The third-party toy backend, written for plugin API 1.0."""
    (b,) = ember.plugins.register(ToyPlugin(), name="toy")
    assert b.api_version == ToyPlugin.EMBER_PLUGIN_API == "1.0"
    yield b
    ember.plugins.unregister("toy")
    clear_cache()


def _pretend_added_in_1_1(monkeypatch, *names: str) -> None:
    sets = dict(plugin_api.PRIMITIVES)
    sets["1.0"] = sets["1.0"] - set(names)
    sets["1.1"] = sets["1.1"] | set(names)
    monkeypatch.setattr(plugin_api, "PRIMITIVES", sets)
    clear_cache()


def test_a_newer_primitive_without_decomposition_says_which_api_it_needs(
        toy_1_0, monkeypatch):
    monkeypatch.delenv("EMBER_CPU_FALLBACK", raising=False)
    _pretend_added_in_1_1(monkeypatch, "maximum")
    a = ember.ones(2, 2, device="toy")
    with pytest.raises(ember.NotImplementedForDevice,
                       match=r"maximum\(\): needs plugin API >= 1\.1, but backend 'toy' "
                             r"targets 1\.0"):
        ember.maximum(a, a * 2)
    # the CPU fallback still serves an old backend when asked for
    monkeypatch.setenv("EMBER_CPU_FALLBACK", "1")
    clear_cache()
    with pytest.warns(RuntimeWarning, match="maximum"):
        out = ember.maximum(a, a * 2)
    np.testing.assert_array_equal(out.cpu().numpy(), np.full((2, 2), 2.0, np.float32))


def test_a_newer_primitive_with_a_decomposition_keeps_working(toy_1_0, monkeypatch):
    _pretend_added_in_1_1(monkeypatch, "add_")
    a = ember.ones(3, device="toy")
    a.add_(ember.ones(3, device="toy"), alpha=2)
    np.testing.assert_array_equal(a.cpu().numpy(), np.full(3, 3.0, np.float32))


def test_a_backend_declaring_its_own_version_is_checked_by_the_same_rule():
    class Newer(ToyPlugin):
        @ember.hookimpl
        def ember_backend_create(self):
            b = super().ember_backend_create()
            b.api_version = "1.7"
            return b

    with pytest.raises(ember.PluginError, match="backend 'toy' of plugin 'toy' .* targets "
                                                "plugin API 1.7"):
        ember.plugins.register(Newer(), name="toy")


# -- documented counts come from the registry ---------------------------------------------------

def test_documented_primitive_counts_match_the_registry():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    total, owed = len(_primitives()), len(_owed())
    found = 0
    for page in pages:
        text = page.read_text()
        for m in re.finditer(r"(\d+) primitives\b", text):
            found += 1
            assert int(m.group(1)) == total, (
                f"{page.name} says {m.group(0)!r}; the registry has {total} primitives")
        for m in re.finditer(r"(\d+) of them without a decomposition", text):
            found += 1
            assert int(m.group(1)) == owed, (
                f"{page.name} says {m.group(0)!r}; the registry has {owed} primitives "
                f"without a decomposition")
    assert found >= 2  # the README and docs/writing-a-backend.md state both


# -- what a backend owes follows the version it targets ------------------------------------------

def test_the_cores_own_plugin_targets_the_cores_api():
    from ember import meta
    assert meta.EMBER_PLUGIN_API == plugin_api.PLUGIN_API_VERSION
    st = next(s for s in ember.plugins.statuses() if s.name == "meta")
    assert st.api_version == plugin_api.PLUGIN_API_VERSION


def test_missing_primitives_are_those_of_the_backends_api(toy_1_0, monkeypatch):
    from ember.kit import missing_primitives
    assert "maximum" in missing_primitives(toy_1_0)  # the toy has no maximum kernel
    _pretend_added_in_1_1(monkeypatch, "maximum")
    # a 1.0 backend does not owe a 1.1 primitive; a 1.1 backend does
    assert "maximum" not in missing_primitives(toy_1_0)
    monkeypatch.setattr(toy_1_0, "api_version", "1.1")
    assert "maximum" in missing_primitives(toy_1_0)


def test_conformance_strict_blames_a_backend_only_for_what_its_api_owes(toy_1_0, monkeypatch):
    from ember_conformance import _context
    from ember_conformance.harness import NO_KERNEL, unsupported_reason

    monkeypatch.delenv("EMBER_CPU_FALLBACK", raising=False)
    clear_cache()

    def begin(op):
        _context._begin(lambda *a: None, "toy", op, None, "values", strict=True)

    assert unsupported_reason("toy", "maximum", None) == NO_KERNEL
    with pytest.raises(pytest.fail.Exception, match="maximum.*--ember-strict"):
        begin("maximum")  # owed under 1.0 and missing: a failure
    _pretend_added_in_1_1(monkeypatch, "maximum")
    assert unsupported_reason("toy", "maximum", None).startswith(
        "needs plugin API >= 1.1, but backend 'toy' targets 1.0")
    with pytest.raises(pytest.skip.Exception, match="needs plugin API >= 1.1"):
        begin("maximum")  # added after 1.0: skipped with the version it needs
    # a decomposition reaching the newer primitive is not the backend's fault either
    a = ember.ones(2, device="toy")
    with pytest.raises(ember.NotImplementedForDevice) as e:
        ember.maximum(a, a)
    with pytest.raises(pytest.skip.Exception, match="needs plugin API >= 1.1"):
        _context.unsupported_at_runtime("clamp", "toy", e.value, strict=True)
    with pytest.raises(pytest.fail.Exception, match="--ember-strict"):
        _context.unsupported_at_runtime("clamp", "toy", ember.NotImplementedForDevice(
            "maximum(): not implemented for device type 'toy'"), strict=True)
