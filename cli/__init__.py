"""openclaw.cli: the `openclaw` command (typer), one module per noun."""
