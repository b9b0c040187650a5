"""Vocabulary shared by every package: ids, events, errors, clock, geography, scope."""
