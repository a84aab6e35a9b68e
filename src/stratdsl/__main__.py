"""`python -m stratdsl` runs the command line."""

from .commands.cli import main

main()
