import os

from django.conf import settings
from django.http import HttpResponse

GREETING = "Hello from the new shop, now taking orders!"

# release=, commit=, host= and python= as read when this worker started.
IDENTITY = "release=%s commit=%s host=%s python=%s" % (
    settings.RELEASE_ID,
    settings.REVISION,
    settings.HOSTNAME,
    settings.PYTHON_PREFIX,
)


def _text(body, status=200):
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


def index(request):
    return _text("%s\n%s\n" % (GREETING, IDENTITY))


def health(request):
    # Broken on purpose: the demo's rollback exercise.
    return _text("broken %s pid=%d\n" % (IDENTITY, os.getpid()), status=500)
