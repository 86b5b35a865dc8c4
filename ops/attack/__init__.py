"""python -m ops.attack: reproduce the front door's measured failures against a gateway on this host."""
