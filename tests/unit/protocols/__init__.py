"""Tests of the sans-IO protocol packages."""
