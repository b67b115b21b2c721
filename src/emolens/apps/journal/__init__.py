"""The mood journal: daily check-ins (camera, photo or a picked mood), a personal baseline,
trends and self-care suggestions. Plain functions over a `Database`; no web framework here.

    store.py        check-ins and baselines (add, list, correct, delete; kept photos)
    readings.py     frames -> one reading; the baseline adjustment
    trends.py       indexes, daily/weekly/monthly views, streaks, weekdays, tags
    suggestions.py  rules.yaml -> suggestions, the crisis block and disclaimer
    summary.py      a period in one object (API JSON, CLI text)
    export.py       JSON and CSV of everything
    cli.py          `emolens journal ...`
"""
