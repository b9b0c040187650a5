"""Fakes that implement the real Protocols, for tests and simulations."""
