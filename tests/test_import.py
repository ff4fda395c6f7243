"""What ``import ember`` (and a first tensor) loads, and what works without the optional
packages: heavy or optional modules load on first use, never at import."""

import subprocess
import sys
import textwrap

# Optional or heavy modules none of which `import ember` or a float32 CPU op needs.
HEAVY = ("ml_dtypes", "safetensors", "torch", "tqdm", "matplotlib", "sklearn", "scipy",
         "pyopencl", "dpctl", "dpnp", "cupy", "hypothesis", "array_api_strict",
         "array_api_compat", "ember_conformance", "json")


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_import_and_first_cpu_op_load_no_heavy_module():
    loaded = _run(f"""
        import sys
        import ember
        x = (ember.ones(3) * 2.0).sum()
        assert x.item() == 6.0
        print(" ".join(m for m in {HEAVY!r} if m in sys.modules))
    """).split()
    assert loaded == []


def test_bfloat16_loads_ml_dtypes_on_first_use():
    out = _run("""
        import sys
        import ember
        assert isinstance(ember.bfloat16, ember.dtype)
        before = "ml_dtypes" in sys.modules
        y = ember.ones(3).to(ember.bfloat16) * 2.5
        print(before, "ml_dtypes" in sys.modules, y.dtype, y.float().tolist())
    """)
    assert out.split() == ["False", "True", "ember.bfloat16", "[2.5,", "2.5,", "2.5]"]


_BLOCK = "import sys; sys.modules[{name!r}] = None  # as if it were not installed\n"


def test_without_ml_dtypes_everything_but_bfloat16_works(tmp_path):
    path = tmp_path / "m.safetensors"
    out = _run(_BLOCK.format(name="ml_dtypes") + f"""
import ember
import ember.nn as nn
assert isinstance(ember.bfloat16, ember.dtype) and ember.bfloat16.itemsize == 2
assert ember.promote_types(ember.bfloat16, ember.float16) is ember.float32
m = nn.Linear(3, 2)
ember.save(m.state_dict(), {str(path)!r})
back = ember.load({str(path)!r})
assert bool((back["weight"] == m.weight.detach()).all())
try:
    ember.ones(2).to(ember.bfloat16)
except ModuleNotFoundError as e:
    print(e)
""")
    assert "ember.bfloat16 needs the ml_dtypes package" in out
    assert "pip install 'ember[bfloat16]'" in out


def test_save_without_safetensors_names_the_package_to_install(tmp_path):
    out = _run(_BLOCK.format(name="safetensors") + f"""
import ember
try:
    ember.save({{"a": ember.zeros(2)}}, {str(tmp_path / "x.safetensors")!r})
except ModuleNotFoundError as e:
    print(e)
""")
    assert "ember.save()/ember.load() need the safetensors package" in out
    assert "pip install 'ember[io]'" in out
