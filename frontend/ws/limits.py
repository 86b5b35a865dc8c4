"""What one WebSocket connection may make the gateway hold (advertised in hello-ok `policy`)."""

PREAUTH_MAX_BYTES = 65_536  # any message before hello-ok (the connect frame)
MAX_PAYLOAD = 26_214_400  # any message after hello-ok
# Output waiting for a client (frames queued this loop iteration + the transport's buffer) beyond
# which it is closed 1008 "slow consumer"; exactly what hello-ok advertises. 8 MiB (R11), not
# upstream's 50 MiB: the largest frame the gateway makes itself (the presence list) is bounded
# well below it, and 50 MiB per stalled client is 50 GiB at the 1,000 connections we hold.
MAX_BUFFERED_BYTES = 8 * 1024 * 1024
