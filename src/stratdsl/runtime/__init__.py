"""The runtime: one assessment evaluated against a checked policy.

Owns: exact values and Kleene unknowns (values), assessments read and
validated against the policy's inputs (assessment), the reference evaluator
(evaluator), results and trace events (result, trace), explanations built
from the trace (explain) and why-not (whynot).

    ir.CheckedPolicy + Assessment ─evaluator.evaluate─▶ Result + trace
                                  ─explain / whynot─▶ explanation data

May import: language. Never formats text for people (render/ does that).
"""
