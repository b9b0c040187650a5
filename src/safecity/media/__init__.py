"""Video: ingest, recording, retention, live view, playback, evidence export."""
