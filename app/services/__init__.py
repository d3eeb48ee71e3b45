"""Services: the service's operations on a session they are given. They flush, never commit."""
