"""sandbox: runs untrusted player code against simcore in a limited child process (built in a later issue)."""
