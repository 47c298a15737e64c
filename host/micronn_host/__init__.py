"""Desktop tools for micronn: the `micronn` command, the serial raw-REPL transport and virtual boards."""
