"""Analytics: frame sampling, detectors, crowd density, zones, quality diagnostics, plates."""
