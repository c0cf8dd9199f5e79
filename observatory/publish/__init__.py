"""What the observatory publishes: the static site (:mod:`.site`), the printable notes
(:mod:`.note`), the portraits' tables (:mod:`.portrait`) and the scheduled refresh
(:mod:`.refresh`, its records in :mod:`.runs`), fed by the drop zone (:mod:`.manifest`) and the
downloads of the open files (:mod:`.download`, their sources in :mod:`.sources`)."""
