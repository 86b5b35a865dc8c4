"""`openclaw pairing | channels | message`: the chat-channel command groups (cheap to import; the work
is in pairing_cmd.py, channels_cmd.py and message_cmd.py)."""

from __future__ import annotations

import typer

from . import options as gc

pairing_app = typer.Typer(help="Secure DM pairing (approve inbound requests).", no_args_is_help=True,
                          pretty_exceptions_enable=False)
channels_app = typer.Typer(help="The chat channels: what is configured, and their live status.", no_args_is_help=True,
                           pretty_exceptions_enable=False)
message_app = typer.Typer(help="Send messages through a chat channel of the running gateway.", no_args_is_help=True,
                          pretty_exceptions_enable=False)

ChannelOpt = typer.Option(None, "--channel", help="Channel (telegram).")
AccountOpt = typer.Option(None, "--account", help="Account id (for multi-account channels).")


@pairing_app.command("list")
def pairing_list(
    channel: str | None = typer.Argument(None, help="Channel (telegram)."),
    channel_opt: str | None = ChannelOpt, account: str | None = AccountOpt, json_: bool = gc.JsonOpt,
) -> None:
    """List pending pairing requests (reads the state database; no gateway needed)."""
    from .pairing_cmd import list_cmd

    list_cmd(channel, channel_opt, account, json_)


@pairing_app.command("approve")
def pairing_approve(
    code_or_channel: str = typer.Argument(..., metavar="<codeOrChannel>", help="Pairing code (or channel when using 2 args)."),
    code: str | None = typer.Argument(None, metavar="[code]", help="Pairing code (when channel is passed as the 1st arg)."),
    channel_opt: str | None = ChannelOpt, account: str | None = AccountOpt,
    notify: bool = typer.Option(False, "--notify", help="Tell the requester on the same channel (needs the running gateway)."),
) -> None:
    """Approve a pairing code and allow that sender."""
    from .pairing_cmd import approve_cmd

    approve_cmd(code_or_channel, code, channel_opt, account, notify)


@channels_app.command("list")
def channels_list(json_: bool = gc.JsonOpt) -> None:
    """List the configured chat channels and accounts (from the config)."""
    from .channels_cmd import list_cmd

    list_cmd(json_)


@channels_app.command("status")
def channels_status(
    probe: bool = typer.Option(False, "--probe", help="Probe channel credentials (e.g. Telegram getMe)."),
    json_: bool = gc.JsonOpt,
    timeout: int = typer.Option(10000, "--timeout", help="Timeout in ms."),
    channel: str | None = typer.Option(None, "--channel", help="Only show one channel (or all)."),
) -> None:
    """Show channel status from the running gateway (config-only summary when it is not reachable)."""
    from .channels_cmd import status_cmd

    status_cmd(probe, json_, timeout, channel)


@message_app.command("send")
def message_send(
    target: str | None = typer.Option(None, "--target", "-t", help="Recipient: chat id, @name or telegram:<id>."),
    message: str | None = typer.Option(None, "--message", "-m", help="Message text."),
    media: str | None = typer.Option(None, "--media", help="A file to attach (max 20 MiB)."),
    channel: str | None = typer.Option(None, "--channel", help="Channel (default: the only configured one)."),
    account: str | None = AccountOpt,
    reply_to: str | None = typer.Option(None, "--reply-to", help="Reply to this message id."),
    thread_id: str | None = typer.Option(None, "--thread-id", help="Thread / forum topic id."),
    silent: bool = typer.Option(False, "--silent", help="Send without a notification sound."),
    json_: bool = gc.JsonOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be sent; send nothing."),
) -> None:
    """Send a message through the gateway (idempotent: one key per invocation)."""
    from .message_cmd import SendOptions, send_cmd

    send_cmd(SendOptions(channel=channel, target=target, message=message, media=media, account=account,
                         reply_to=reply_to, thread_id=thread_id, silent=silent, as_json=json_, dry_run=dry_run))


def register(app: typer.Typer) -> None:
    app.add_typer(pairing_app, name="pairing")
    app.add_typer(channels_app, name="channels")
    app.add_typer(message_app, name="message")
