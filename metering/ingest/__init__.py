"""Ingestion: signed, validated events into the database, deduplicated on (source, id).

parse.py (the request body), rows.py (usage_events rows, bulk insert), results.py (what a request gets back),
service.py (the Ingestor: the domain flow of a request), store.py (the seam to the database) with its
adapters sqlite_store.py and pg_store.py. Import from the module that holds a name: this package's __init__ runs
before any of its modules is imported, so it imports nothing (an agent parsing a body with parse.py loads neither
the Ingestor nor the database layer)."""
