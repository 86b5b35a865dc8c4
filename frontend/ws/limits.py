"""What one WebSocket connection may make the gateway hold (advertised in hello-ok `policy`)."""

PREAUTH_MAX_BYTES = 65_536  # the connect frame
MAX_PAYLOAD = 26_214_400  # any frame after hello-ok
MAX_BUFFERED_BYTES = 52_428_800  # unsent output before a slow consumer is closed
