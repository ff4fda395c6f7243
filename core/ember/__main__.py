"""``python -m ember info``."""

from .cli import main

raise SystemExit(main())
