"""Security the Mesos way: ACLs (``--acls``), HTTP Basic by realm, TLS for HTTP.

``acls`` parses Mesos' ACL JSON into ``ACLs`` and answers ``acls.authorized(action,
principal, object)`` (the local authorizer's rules: first matching rule wins,
``permissive`` when none matches); ``views`` cuts ``/state``-like JSON to what a
principal may view. ``credentials`` reads ``--http_credentials``; ``http_auth`` is the
realm authenticator the master and agent install on their node's HTTP server (HTTP
Basic, and the Bearer JWTs of ``jwt`` for the executor API); ``tls``
builds the HTTPS server and client contexts (``MESETA_SSL_*``); ``config`` declares the
shared flags and makes the secured ``Node``. The master, the agent and the CLI import
this package; it imports nothing of them.
"""

from actors.authorization.acls import ACLError, ACLs, Entity, Rule, load_acls, parse_acls

__all__ = ["ACLError", "ACLs", "Entity", "Rule", "load_acls", "parse_acls"]
