"""Steering cameras: PTZ moves, stops and presets for a caller, checked and audited."""
