"""Security: the client address, brute-force limits, two-factor login and response headers."""
