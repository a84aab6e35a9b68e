"""Entry points: what people run.

Owns: the `stratdsl` command line (cli, with its one error gate cliguard and
the report command report_cli), the web service and its questionnaire
(service, questionnaire; its pages are Jinja2 templates in templates/, with
the theme, in pages), the terminal diagnostic (diagnose), batch runs
(batch, and batch_dask for a Dask cluster) and policy tests (policytest).

May import: every other stage. Nothing imports this package except the
console script and `python -m stratdsl`.
"""
