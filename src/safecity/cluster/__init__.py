"""Scale-out: node roles, camera leases, edge/centre sync."""
