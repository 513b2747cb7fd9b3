"""Entry point for ``python -m analyzer``."""

from analyzer.start import main

main()
