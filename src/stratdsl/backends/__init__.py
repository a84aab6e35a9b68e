"""Back ends: other ways to run a checked policy, each checked against the reference evaluator.

Owns: the policy compiled to Python source (compiler). Each back end reads
the checked form (ir) and must agree with runtime.evaluator, its oracle.

May import: runtime, language.
"""
