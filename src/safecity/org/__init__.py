"""The registry: org units (city bureau → district branch → police station), points, devices."""
