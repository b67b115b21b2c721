"""One router per resource: analyze (photos, videos), jobs, live, system (health, model), pages, docs."""
