from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Post-incident reviews")

    def ready(self):
        # The panel and the audit words are registered with tickets' extension points; the
        # module imports models, so it cannot be imported before the app registry is ready.
        from . import extensions

        extensions.register()
