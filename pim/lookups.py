"""`__in` on integer columns never overflows (registered in PimConfig.ready).

Django drops out-of-range values from `exact`, `gt`, `lt` … on integer fields
(IntegerFieldOverflow) but not from `in`: `pk__in=["1000000000000000000000000000000"]`, which
every ModelMultipleChoiceField (a page form, the admin's many-to-many widgets) builds from what
was posted, raises OverflowError on SQLite and DataError on PostgreSQL. A value no column can
hold matches no row, so it is left out; with none left the lookup matches nothing.

Nor from `exact` on a foreign key (`?ticket=1000000000000000000000000000000` on an admin
changelist, which allows a lookup on any local field): such a value matches nothing as well.
"""

from django.core.exceptions import EmptyResultSet
from django.db.models import ForeignObject, IntegerField
from django.db.models.fields.related_lookups import RelatedExact
from django.db.models.lookups import In


class IntegerFieldIn(In):
    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value():
            low, high = connection.ops.integer_field_range(
                self.lhs.output_field.get_internal_type()
            )
            self.rhs = [
                value
                for value in self.rhs
                if not isinstance(value, int)
                or ((low is None or value >= low) and (high is None or value <= high))
            ]
        return super().process_rhs(compiler, connection)


class RelatedExactInRange(RelatedExact):
    def process_rhs(self, compiler, connection):
        if isinstance(self.rhs, int) and not isinstance(self.rhs, bool):
            target = getattr(self.lhs.output_field, "target_field", None)
            if isinstance(target, IntegerField):
                low, high = connection.ops.integer_field_range(target.get_internal_type())
                if (low is not None and self.rhs < low) or (high is not None and self.rhs > high):
                    raise EmptyResultSet
        return super().process_rhs(compiler, connection)


def register():
    IntegerField.register_lookup(IntegerFieldIn)
    ForeignObject.register_lookup(RelatedExactInRange)
