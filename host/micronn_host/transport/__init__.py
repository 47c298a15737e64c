"""How the host talks to a board: the serial raw REPL (rawrepl) and finding the port (ports)."""
