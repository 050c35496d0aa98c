"""The Halo Bestie benchmark: the real stack on loopback against a bare relay baseline."""
