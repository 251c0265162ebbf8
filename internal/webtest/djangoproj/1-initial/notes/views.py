import os
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse

from notes.models import Note

# Read once, when the worker loads the code: a worker that was not
# reloaded keeps saying its old release.
RELEASE = Path(settings.BASE_DIR).name
try:
    COMMIT = (Path(settings.BASE_DIR) / "REVISION").read_text().strip()
except OSError:
    COMMIT = "-"


def health(request):
    return HttpResponse(
        "ok release=%s commit=%s notes=%d debug=%s stage_release_id=%s pid=%d\n"
        % (RELEASE, COMMIT, Note.for_health(), settings.DEBUG, os.environ.get("RELEASE_ID", "-"), os.getpid()),
        content_type="text/plain",
    )
