"""Plain functions and classes behind the routes: no FastAPI imports here."""
