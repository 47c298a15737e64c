"""Programs for boards too small for lib/micronn (the BBC micro:bit), generated per model from
lib/micronn's own source: program.py builds them, minify.py shortens their names."""
