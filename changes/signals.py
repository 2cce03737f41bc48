"""What happens to a change, for the apps above changes.

Sent with `sender=ChangeRequest` inside the write's transaction.
"""

from django.dispatch import Signal

# change, ticket: the change is closed (its ticket closed after completion) or cancelled.
change_finished = Signal()
