"""`python -m labeler ...`: see labeler/cli.py."""

from .cli import main

raise SystemExit(main())
