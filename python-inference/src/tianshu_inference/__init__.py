"""Tianshu inference service: the one place in the system where models run."""
