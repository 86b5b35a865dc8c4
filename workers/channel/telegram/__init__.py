"""The Telegram channel: Bot API client, ingress spool, DM policy, formatting, and the channel itself."""
