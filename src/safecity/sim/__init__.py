"""Simulators of real peers: alarm panels, cameras, GB/T 28181 devices."""
