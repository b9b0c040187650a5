"""asyncio drivers binding protocols to sockets and translating their events."""
