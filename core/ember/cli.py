"""The ``ember`` command: ``ember info`` (and subcommands other packages add)."""

from __future__ import annotations

import argparse
import os
import platform
import sys

#: name -> (help, add_arguments(parser), run(args) -> int); ember-conformance adds one.
SUBCOMMANDS: dict = {}

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
        statuses = plugins.statuses()
        bks = backends()
    w("plugins:\n")
    for st in sorted(statuses, key=lambda s: s.name):
        dist = f"{st.distribution} {st.version}" if st.distribution else "in-process"
        line = f"  {st.name:<10} {st.state:<12} {dist}, API {st.api_version or '?'}"
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
    w("\nenvironment:\n")
    for k in _ENV_VARS:
        if k in os.environ:
            w(f"  {k}={os.environ[k]}\n")
    if not any(k in os.environ for k in _ENV_VARS):
        w("  (no ember variables set)\n")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="ember", description="ember command-line tools")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("info", help="versions, plugins, devices, environment")
    try:  # other distributions (ember-conformance) register subcommands on import
        import ember_conformance.cli  # noqa: F401
    except ImportError:
        pass
    for name, (help_, add_args, _) in SUBCOMMANDS.items():
        add_args(sub.add_parser(name, help=help_))
    args = parser.parse_args(argv)
    if args.cmd == "info":
        return info()
    return SUBCOMMANDS[args.cmd][2](args)
