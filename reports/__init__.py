"""Printable and downloadable reports, built from plain rows (no SQL, no Flask, no Dash).

``reports.scorecard`` holds the scorecard's plain shapes (periods, rows, value formatting,
rankings); ``reports.xlsx`` and ``reports.pdf`` turn a :class:`~reports.scorecard.Scorecard`
into file bytes.
"""
