"""Answers: retrieved chunks quoted into a prompt, a streamed generation, its citations."""
