"""The gateway as a host service: unit definitions, the service managers, and the lifecycle verbs."""
