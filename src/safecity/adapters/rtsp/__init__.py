"""RTSP adapters: the native ingest's pull loop (many cameras on one selector thread), the
server side that takes pushed streams, and the RTP sending it shares with the camera
simulator."""
