"""This node among its peers: the peers, their health, the service registry, and what is built on them."""
