"""Persistence: engine, tables, migrations, repositories, read models, demo city and config."""
