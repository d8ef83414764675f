"""Authorization the Mesos way: ACLs (``--acls``) and HTTP Basic credentials.

``acls`` parses Mesos' ACL JSON into ``ACLs`` and answers ``acls.authorized(action,
principal, object)`` (the local authorizer's rules: first matching rule wins,
``permissive`` when none matches). ``http_auth`` holds the ``--http_credentials`` and
the realm authenticator the master and agent install on their node's HTTP server;
``tls`` builds the HTTPS server and client contexts (``MESETA_SSL_*``). The master and
the agent both import this package; it imports nothing of either.
"""

from actors.authorization.acls import ACLError, ACLs, Entity, Rule, load_acls, parse_acls

__all__ = ["ACLError", "ACLs", "Entity", "Rule", "load_acls", "parse_acls"]
