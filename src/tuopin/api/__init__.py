"""The JSON API (/api/v1): a second door on the same services and the same policy.

It authenticates (Bearer tokens only: never the web's cookie, so no CSRF surface) and
translates - HTTP to service calls, records to typed JSON, the error tree to RFC 9457
problems. It holds no rule of its own: who may do what is the services' policy.
"""
