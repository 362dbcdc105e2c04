"""Records and the detection core. Nothing under models/ imports Faust's
runtime or a database driver except :mod:`models.records`."""
