"""Who a connection is and what it may do: the Principal decided at connect (connect.py), the one
policy every authorization check uses (policy.py), device proofs (device_proof.py) and the
auth-failure limiter (rate_limit.py)."""
