"""`python -m stratdsl.lsp`: the language server over stdio."""

import sys

from .server import main

main(sys.argv[1:])
