"""Archived reports: scrubbed executed notebooks, HTML exports and the runs index page."""
