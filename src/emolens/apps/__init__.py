"""Apps built on the runtime: shared storage and accounts (db, accounts), the mood journal, ...

Importing this package does nothing; each app's functions take a `Database` handle.
"""
