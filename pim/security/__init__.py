"""Sign-in security: the client address, brute-force limits and two-factor login."""
