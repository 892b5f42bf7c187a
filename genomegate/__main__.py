"""`python -m genomegate` runs the CLI."""

from genomegate.cli import main

main()
