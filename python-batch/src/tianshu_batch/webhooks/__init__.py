"""Completion webhooks: the check of a caller's URL, the signature, and the delivery loop."""
