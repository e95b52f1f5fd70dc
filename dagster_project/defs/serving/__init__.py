"""Publication: the serving database and the survey report."""
