"""The ``ember`` command: ``ember info``, and the subcommands command plugins add
(hook ``ember_cli_subcommands``, entry-point group ``ember.cli``: ``ember conformance``
comes from ember-conformance)."""

from __future__ import annotations

import argparse
import os
import platform
import sys

_ENV_VARS = ("EMBER_BACKENDS", "EMBER_DISABLE", "EMBER_CPU_FALLBACK", "EMBER_ROCM_ANY_DEVICE",
             "ONEAPI_DEVICE_SELECTOR", "OCL_ICD_FILENAMES")


def info(out=None) -> int:
    """Print versions, plugins (status, API version, cause of failure), devices and
    the environment variables in effect."""
    import warnings

    import numpy
    import pluggy

    import ember
    from ember import plugins
    from ember.device import backends

    out = out or sys.stdout
    w = out.write
    w(f"ember {ember.__version__} (plugin API {ember.PLUGIN_API_VERSION})\n")
    w(f"python {platform.python_version()} on {platform.platform()}\n")
    w(f"numpy {numpy.__version__}, pluggy {pluggy.__version__}\n\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # failures are listed below, with their cause
        try:
            statuses = plugins.statuses()
            bks = backends()
        except ValueError as e:  # a malformed environment variable, named in `e`
            print(f"ember info: {e}", file=sys.stderr)
            return 2
    w("plugins:\n")
    for st in sorted(statuses, key=lambda s: (s.kind != "device", s.name)):
        kind = " (command)" if st.kind == "command" else ""
        api, how = plugins.declared_api(st)
        api = f"API {api}" if st.state == "loaded" else \
            f"API {api or '?'} ({how})"
        line = f"  {st.name:<10} {st.state:<12} {st.origin}, {api}{kind}"
        if st.cause is not None:
            line += f"\n             cause: {st.cause_text}"
        w(line + "\n")
    w("\ndevices:\n")
    for t, b in sorted(bks.items()):
        try:
            n = b.device_count()
        except Exception as e:
            n, reason = 0, f"{type(e).__name__}: {e}"
        else:
            reason = b.unavailable_reason() if n == 0 else None
        note = f" — unavailable: {reason}" if reason else ""
        w(f"  {t:<10} {n} device(s), {b.name}{note}\n")
        for line in b.describe() if n else []:
            w(f"             {line}\n")
    for lines in plugins.manager.hook.ember_info_report():
        for line in lines or []:
            w(f"  {line}\n")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            default = str(ember.get_default_device())
        default += "".join(f"\n             ({m.message})" for m in caught)
    except Exception as e:  # a malformed EMBER_BACKENDS is reported, not raised
        default = f"none: {type(e).__name__}: {e}"
    w(f"\ndefault device: {default}\n")
    w("\nenvironment:\n")
    for k in _ENV_VARS:
        if k in os.environ:
            w(f"  {k}={os.environ[k]}\n")
    if not any(k in os.environ for k in _ENV_VARS):
        w("  (no ember variables set)\n")
    return 0


def main(argv=None) -> int:
    """Run the ``ember`` command; returns its exit status."""
    from ember import plugins
    parser = argparse.ArgumentParser(
        prog="ember", description="ember command-line tools",
        epilog="Other subcommands come from command plugins (entry-point group "
               "'ember.cli'): `ember conformance` from ember-conformance.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("info", help="versions, plugins, devices, environment").set_defaults(
        run=lambda args: info())
    from .distributed import run as _run
    p = sub.add_parser("run", help="start N ranks of a script (ember.distributed)")
    _run.add_arguments(p)
    p.set_defaults(run=_run._run)
    plugins.load_commands()  # a failing one warns, and `ember info` lists it
    try:
        plugins.manager.hook.ember_cli_subcommands(subparsers=sub)
    except Exception as e:  # `ember info` must work whatever a command plugin does
        print(f"ember: a command plugin failed to add its subcommands: "
              f"{type(e).__name__}: {e}", file=sys.stderr)
    args = parser.parse_args(argv)
    return int(args.run(args))
