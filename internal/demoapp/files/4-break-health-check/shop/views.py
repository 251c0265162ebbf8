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


# Order limits; "backlog" was renamed "max_backlog" in this commit.
ORDER_LIMITS = {"max_backlog": 500}


def _order_backlog():
    # Broken on purpose (the demo's rollback exercise): a caller missed by
    # the rename, so every /health/ raises and Django logs the traceback to
    # shared/logs/shop.log, as a real regression would.
    return ORDER_LIMITS["backlog"]


def health(request):
    _order_backlog()
    return _text("ok %s pid=%d\n" % (IDENTITY, os.getpid()))


def server_error(request):
    """handler500: a plain-text body that says which release failed."""
    return _text("broken %s pid=%d: internal server error (see shop.log)\n" % (IDENTITY, os.getpid()), status=500)
