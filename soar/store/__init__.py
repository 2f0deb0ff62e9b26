"""Record stage: the SQL store (SQLite by default, PostgreSQL by URL), schema owned by Alembic."""
