"""PostgreSQL + pgvector: the connection pool, schema migrations and the tables' stores."""
