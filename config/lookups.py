"""``field__any=[...]``: membership in a long list of values as one bound parameter.

``__in`` writes one placeholder per value, which psycopg then has to find and fill in a
query string of thousands of ``%s`` (a bulk import spent seconds there). On PostgreSQL
this lookup sends ``field = ANY(%s)`` with the list as one array parameter instead; other
databases get the plain ``IN`` list. Use it for lists that can be long (bulk jobs)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import Field, ForeignObject
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In


def int_array(values: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers (``{1,2,3}``), for a ``%s::bigint[]``
    parameter: formatted in C, where psycopg's list adapter inspects every element."""
    return "{" + ",".join(map(str, values)) + "}"


class _ArrayParameter:
    lookup_name = "any"

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, tuple]:
        if not self.rhs_is_direct_value():
            return self.as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [
            field.get_db_prep_value(value, connection, prepared=True)
            for value in dict.fromkeys(self.rhs)
            if value is not None
        ]
        if not values:
            raise EmptyResultSet
        # typed like the column: psycopg would send small ints as smallint[], and a
        # cross-type comparison can keep the planner off the column's index
        array_type = field.cast_db_type(connection)
        if all(type(value) is int for value in values):
            values = int_array(values)
        return f"{lhs} = ANY(%s::{array_type}[])", (*lhs_params, values)


@Field.register_lookup
class AnyOf(_ArrayParameter, In):
    pass


@ForeignObject.register_lookup
class RelatedAnyOf(_ArrayParameter, RelatedIn):
    pass
