"""Batch jobs: batches of chat or embedding requests queued on Kafka, run by workers through
the inference service at batch priority, with every line's result recorded exactly once."""
