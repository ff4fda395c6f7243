"""Makes the plugin's fixtures available when the package's tests are collected
without the installed entry point (``pytest conformance/ember_conformance``)."""

pytest_plugins: list[str] = []
