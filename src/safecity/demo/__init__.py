"""The demo city: a seeded registry (and, in later issues, simulated cameras and panels)."""
