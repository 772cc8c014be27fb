"""Request and response bodies of the control plane API."""
