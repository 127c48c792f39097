"""Retrieval evaluation: recall@k, MRR@k, nDCG@k of each retrieval mode over a query set."""
