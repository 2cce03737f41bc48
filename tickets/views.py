from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404

from . import queries
from .models import Attachment, Ticket


@login_required
def attachment_download(request, pk):
    """Attachments are only served here: access-checked, always as a download."""
    attachment = get_object_or_404(
        Attachment.objects.filter(ticket__in=Ticket.objects.visible_to(request.user)), pk=pk
    )
    if not queries.attachments_for(attachment.ticket, request.user).filter(pk=pk).exists():
        raise Http404  # internal attachments stay with the provider
    response = FileResponse(
        attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
