"""Chat platforms: each module verifies, decodes and encodes one wire format."""
