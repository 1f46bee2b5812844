"""`python -m labeler ...`: see labeler/cli/."""

from .cli.main import main

raise SystemExit(main())
