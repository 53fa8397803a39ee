"""The case domain (案件): category catalogue, rules, dedup, the case state machine, routing,
the SLA clock and evaluation formulas. Pure Python — no Dash, no paho, no SQL sessions.

Filled by the case-engine issue; the tables it persists to (``cases``, ``case_events``) exist
from the first migration.
"""
