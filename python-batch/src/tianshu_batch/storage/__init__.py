"""PostgreSQL: the batches, their lines with results, and every status change."""
