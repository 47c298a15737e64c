"""Programs for boards too small for lib/micronn (the BBC micro:bit), made per model: board/
holds the program's real modules, specialise.py writes them out for one model with ast,
program.py builds the program with lib/micronn's functions copied in (libsource), and
minify.py shortens its names."""
