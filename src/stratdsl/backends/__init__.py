"""Back ends: other ways to run a checked policy, each checked against the reference evaluator.

Owns: the policy compiled to Python source (compiler); to SQL (sql: the
canonical query; sql_duckdb: running it on DuckDB over files read in place);
the symbolic back end (smt: the policy as z3 constraints) and what stands on
it — counterfactual why-not (counterfactual), assertions proven (prove), exact
static checks (exact), the methodology diff over all inputs (symdiff). Each back end reads
the checked form (ir) and must agree with runtime.evaluator, its oracle.

May import: runtime, language.
"""
