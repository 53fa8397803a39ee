"""Downloads of reports: the scorecards as XLSX and PDF (``/exports/...``)."""

from __future__ import annotations

import flask

bp = flask.Blueprint("exports", __name__)
