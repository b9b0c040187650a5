"""Alarm receiving centre: intake, lifecycle, triage, linkage, supervision."""
