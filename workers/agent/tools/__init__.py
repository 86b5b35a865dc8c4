"""Gateway tools for agent runs and /tools/invoke: catalog, policy, implementations, registry."""
