"""Directory: the tenant tree, staff and roles, the service catalogue, market sites and the
working-day calendar."""
