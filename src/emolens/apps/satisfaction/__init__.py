"""Customer satisfaction analytics: service sessions -> customer emotion timeline -> score 0-100.

Pure functions over recordings (recording, customer, score, explain, analysis),
aggregates and reports, and storage over the shared `emolens.apps.db.Database`.
Nothing here imports FastAPI, torch or the inference runtime; see docs/satisfaction.md.
"""
