"""The peer drivers ``worker.py`` runs inside each peer's own virtualenv (one module per peer
family). Nothing here may import scaletune, which is not installed there: ``worker.py``
imports these modules as the top-level package ``peer_drivers``.
"""
