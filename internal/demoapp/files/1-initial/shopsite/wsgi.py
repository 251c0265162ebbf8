"""WSGI entry point: gunicorn shopsite.wsgi:application."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsite.settings")

application = get_wsgi_application()

# Django imports the URLconf and the views lazily, at the first request. A
# worker of the old release that imported them only after `current` was
# switched would run new views with old settings. Import everything now, at
# worker start, so that every worker runs one release from end to end.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns
