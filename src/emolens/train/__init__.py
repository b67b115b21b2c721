"""Training side (needs the [train] extra: torch). Never imported by the runtime."""
