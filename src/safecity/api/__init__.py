"""HTTP API: FastAPI app factory, problem+json errors, routers, the events WebSocket."""
