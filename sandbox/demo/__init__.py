"""The offline demo and the sample community it ships (see README.md here)."""
