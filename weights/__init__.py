"""Models trained by evsim itself; see README.md here."""
