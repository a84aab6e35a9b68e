"""stratdsl — a declarative policy language and explaining rules engine for the
AI strategy of small and mid-size companies.

Pipeline (one module per stage, typed data between them):

    source text ─syntax.parse─▶ parse tree ─lower.lower─▶ AST (ast.py)
      ─loader.load_policy─▶ Program (all imported files)
      ─checker.check─▶ CheckedPolicy (ir.py, names resolved, types known)
      ─evaluator.evaluate─▶ Result + trace (result.py, trace.py)
      ─explain / render.*─▶ text, JSON
"""

__version__ = "0.1.0"
