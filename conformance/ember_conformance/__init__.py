"""ember-conformance: the suite that decides whether an ember backend works.

Run it with ``ember conformance --device X [--report DIR] [-k PATTERN]`` or, in an
existing CI, ``pytest --pyargs ember_conformance --ember-device X``.  Modules:

``opdb``        the op database (samples, dtypes, numpy references), one entry per op
``tolerances``  per-dtype tolerances, in one place
``harness``     running samples on a device, comparing, failure messages
``test_*``      the checks (ops, gradients, in-place aliasing, device, memory, RNG, nn)
``plugin``      the pytest plugin (``--ember-device``, ``--ember-report``)
``report``      JSON report, op x dtype coverage table, one-line summary
``cli``         the ``ember conformance`` subcommand
"""

__version__ = "0.1.0"
