"""Host-side tools of micronn: boards, transports, emulators."""
