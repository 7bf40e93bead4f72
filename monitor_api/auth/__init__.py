"""Authentication and authorisation: Argon2 passwords, signed session/bearer tokens with CSRF, hashed scoped API
keys, login throttling and lockout, and the route policies every endpoint declares."""
