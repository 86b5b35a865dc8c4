"""Gateway tools an agent run (and `/tools/invoke`) may call, and the policy that allows them."""
