"""Repository store: bare repositories, the ref ledger, reconcile and maintenance."""
