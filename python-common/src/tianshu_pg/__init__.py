"""What every Tianshu Python service with a PostgreSQL database needs, written once:
versioned SQL migrations and, for local runs, an embedded server."""
