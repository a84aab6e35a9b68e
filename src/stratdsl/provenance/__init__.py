"""Provenance: decisions that can be defended later.

Owns: decision records (records), the hash-chained audit log (audit), git
access (gitutil), a policy at a past commit (history), replay of logged
decisions (replay) and the decision diff between two revisions (semdiff).

May import: engine, render, runtime, backends, language.
"""
