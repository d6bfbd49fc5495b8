// svpc client commands (filled below)
