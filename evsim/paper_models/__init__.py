"""The papers' authors' trained models, converted by evsim's importer; see README.md here."""
