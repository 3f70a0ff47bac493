"""Hand-written SQL for the few statements every signed-in request runs, with the ORM's types.

Building a query costs the ORM far more than running it: on this project's 2-core machine
``User.objects.get(pk=...)`` took about 350 µs of CPU, the same SELECT through a cursor about 25
µs (issue 20; ``manage.py bench --in-process`` shows it per request). A signed-in request runs three
such reads before its view starts (the session, the user, the Device record), so the hot ones are
written out here, once, from the models' own metadata: table and column names, how each field
adapts a parameter and converts a value back (SQLite keeps datetimes as text). Everything else in
the shop keeps using the ORM.
"""

from django.db import connections


def quoted(model, field_name=None):
    """A model's table, or one of its fields' column, quoted for the default connection's SQL."""
    quote = connections["default"].ops.quote_name
    return quote(model._meta.get_field(field_name).column if field_name else model._meta.db_table)


def param(model, field_name, value, using="default"):
    """``value`` as the ORM would send it for this field (an aware datetime to SQLite's text, ...)."""
    return model._meta.get_field(field_name).get_db_prep_value(value, connections[using])


class Select:
    """A SELECT of some fields (``(model, field name)`` pairs, in its column order) that returns
    each row's values converted as the ORM converts them."""

    def __init__(self, sql, fields):
        self.sql, self.fields = sql, [model._meta.get_field(name) for model, name in fields]
        self._converters = {}

    def converters(self, connection):
        """Per column, the backend's and the field's converters (SQLCompiler.get_converters's)."""
        found = self._converters.get(connection.alias)
        if found is None:
            columns = [field.get_col(field.model._meta.db_table) for field in self.fields]
            found = [
                (column, connection.ops.get_db_converters(column) + column.get_db_converters(connection))
                for column in columns
            ]
            self._converters[connection.alias] = found
        return found

    def first(self, params, using="default"):
        """The first row's values, converted; None when there is none."""
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        return None if row is None else self._converted(row, connection)

    def all(self, params, using="default"):
        """Every row's values, converted."""
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        return [self._converted(row, connection) for row in rows]

    def _converted(self, row, connection):
        values = []
        for value, (column, converters) in zip(row, self.converters(connection), strict=True):
            for convert in converters:
                value = convert(value, column, connection)
            values.append(value)
        return values
