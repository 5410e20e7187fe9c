"""The schema's newest revision (the last migration's), known without importing Alembic."""

#: The newest migration's revision; tests/storage/test_migrations.py checks it is Alembic's
#: head, so a new migration cannot be forgotten here.
SCHEMA_HEAD = "0012"
