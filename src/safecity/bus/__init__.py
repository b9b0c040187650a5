"""The event bus: a port (Protocol) and its implementations."""
