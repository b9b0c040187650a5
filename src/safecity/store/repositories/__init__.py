"""Queries, one module per aggregate. Functions take an open AsyncSession; the caller owns the
transaction, so a change and its audit record commit together."""
