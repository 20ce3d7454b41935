"""The conductor: owner of the build flow and the only path from compute hosts to the database."""
