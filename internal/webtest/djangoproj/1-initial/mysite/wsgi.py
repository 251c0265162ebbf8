import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
application = get_wsgi_application()

# Import the URLconf and views now, so a worker never mixes two releases.
import mysite.urls  # noqa: E402,F401
