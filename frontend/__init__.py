"""openclaw.frontend: the one public port: WebSocket protocol + HTTP, on aiohttp/uvloop."""
