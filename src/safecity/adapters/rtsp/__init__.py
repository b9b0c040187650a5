"""RTSP adapters: the native ingest's pull loop (many cameras on one selector thread) and the
server side that takes pushed streams."""
