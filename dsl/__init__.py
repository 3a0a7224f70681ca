"""The Python-embedded kernel language (filled in by the DSL issue)."""
