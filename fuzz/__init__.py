"""Coverage-guided fuzzing of regtls's two readers (see ``fuzz/README.md``)."""
