from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from . import lookups


class PimConfig(AppConfig):
    name = "pim"
    verbose_name = _("Tenancy")

    def ready(self):
        # Once the apps are loaded: checks registers the deployment checks on import.
        from . import admin_icons, checks  # noqa: F401 - checks registers itself
        from .security import bruteforce, twofactor  # noqa: F401 - connect signal receivers

        lookups.register()
        admin_icons.install()  # the admin's yes/no icons in the reader's language
