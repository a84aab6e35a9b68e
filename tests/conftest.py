"""Test-suite settings shared by every test file.

`stratdsl check` tries a policy's assertions with the solver by default (4 s
of work each, docs/analysis.md); the suite turns that off so that it stays fast and its
goldens do not depend on the machine's speed. Tests of the assertions give
their own budget (`check --assertions S`, or STRATDSL_ASSERTION_BUDGET in the
environment of the command they run). The variable reaches subprocesses too.
"""

from __future__ import annotations

import os

os.environ.setdefault("STRATDSL_ASSERTION_BUDGET", "0")
