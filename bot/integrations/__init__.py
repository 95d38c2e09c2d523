"""Outside systems, one module each: an interface, the real adapter and a local sandbox."""
