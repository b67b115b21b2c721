"""One router per resource: analyze (photos, videos), jobs, live, system (health, model), auth, account, pages,
docs; and one package per app (journal/, satisfaction/) with its WEB_APP, which web/app.py lists in APPS."""
