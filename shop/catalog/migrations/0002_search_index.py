"""A trigram full-text index for catalog search on SQLite.

``icontains`` is ``LIKE '%…%'``, which reads every row: at 100,000 products search and its
COUNT were 25× slower than at 100. An FTS5 trigram table answers the same substring
question from an index. Triggers keep it in step with the product table, bulk inserts too.
Other databases keep plain ``icontains`` (see shop/catalog/search.py).
"""

from django.db import migrations

CREATE = [
    "CREATE VIRTUAL TABLE catalog_product_fts USING fts5("
    "name, description, content='catalog_product', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER catalog_product_fts_insert AFTER INSERT ON catalog_product BEGIN "
    "INSERT INTO catalog_product_fts(rowid, name, description) VALUES (new.id, new.name, new.description); END",
    "CREATE TRIGGER catalog_product_fts_delete AFTER DELETE ON catalog_product BEGIN "
    "INSERT INTO catalog_product_fts(catalog_product_fts, rowid, name, description) "
    "VALUES ('delete', old.id, old.name, old.description); END",
    "CREATE TRIGGER catalog_product_fts_update AFTER UPDATE OF name, description ON catalog_product BEGIN "
    "INSERT INTO catalog_product_fts(catalog_product_fts, rowid, name, description) "
    "VALUES ('delete', old.id, old.name, old.description); "
    "INSERT INTO catalog_product_fts(rowid, name, description) VALUES (new.id, new.name, new.description); END",
    "INSERT INTO catalog_product_fts(catalog_product_fts) VALUES ('rebuild')",
]
DROP = [
    "DROP TRIGGER IF EXISTS catalog_product_fts_update",
    "DROP TRIGGER IF EXISTS catalog_product_fts_delete",
    "DROP TRIGGER IF EXISTS catalog_product_fts_insert",
    "DROP TABLE IF EXISTS catalog_product_fts",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for statement in statements:
                schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(run(CREATE), run(DROP))]
