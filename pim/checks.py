"""Deployment checks of our own (`manage.py check --deploy`)."""

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.checks import Error, Tags, register


@register(Tags.staticfiles, deploy=True)
def static_files_collected(app_configs, **kwargs):
    """With DEBUG off, pages link hashed names from collectstatic's manifest; without it every
    page that links a static file answers 500. Say so before a server starts."""
    if settings.DEBUG or not isinstance(staticfiles_storage, ManifestFilesMixin):
        return []
    manifest = staticfiles_storage.manifest_name
    if staticfiles_storage.manifest_storage.exists(manifest):
        return []
    return [
        Error(
            f"The static files manifest {settings.STATIC_ROOT}/{manifest} is missing.",
            hint="Run `manage.py collectstatic --noinput` with the production settings "
            "(the README's production recipe, the Dockerfile).",
            id="pim.E001",
        )
    ]
