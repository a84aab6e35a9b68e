"""Back ends: other ways to run a checked policy, each checked against the reference evaluator.

Owns: the policy compiled to Python source (compiler), and to SQL (sql: the
canonical query; sql_duckdb: running it on DuckDB over files read in place). Each back end reads
the checked form (ir) and must agree with runtime.evaluator, its oracle.

May import: runtime, language.
"""
