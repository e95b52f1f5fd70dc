"""Reading the landing zone: formats, encodings, validation, quarantine and the lake."""
