"""`python -m minutes ...` entry point."""
from minutes.cli import main

raise SystemExit(main())
