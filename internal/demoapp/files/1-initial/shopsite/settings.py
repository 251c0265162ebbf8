"""Settings of the opsui demo shop (Django 3.2)."""
import os
import socket
import sys
from pathlib import Path

# The release directory this code was loaded from: resolving the path turns
# <deploy_to>/current/shopsite/settings.py into <deploy_to>/releases/<id>/...
BASE_DIR = Path(__file__).resolve().parent.parent


def _read_env_file(path):
    """Set defaults from KEY=value lines (a linked shared/.env)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        os.environ.setdefault(key.strip(), value.strip().strip("'\""))


_read_env_file(BASE_DIR / ".env")

# What this process serves, read once at import (worker start): a worker
# that was not reloaded keeps reporting the release it runs.
RELEASE_ID = BASE_DIR.name
try:
    REVISION = (BASE_DIR / "REVISION").read_text().strip()
except OSError:
    REVISION = "unknown"
# The host's name in /health/: SHOP_HOSTNAME when set (the demo fleet's hosts
# share one machine, so it names each of them), else the machine's.
HOSTNAME = os.environ.get("SHOP_HOSTNAME") or socket.gethostname()
PYTHON_PREFIX = os.path.realpath(sys.prefix)

SHARED_DIR = Path(os.environ.get("SHOP_SHARED_DIR", BASE_DIR.parent.parent / "shared"))

# A fixed key is good enough for the demo only; set DJANGO_SECRET_KEY (for
# example in shared/.env) anywhere else.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "opsui-demo-insecure-secret-key-do-not-use-in-production")
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "shop",
]

MIDDLEWARE = [
    "shop.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "shopsite.urls"
WSGI_APPLICATION = "shopsite.wsgi.application"
TEMPLATES = []

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SHOP_DB_PATH", str(SHARED_DIR / "db.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "shop": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
# Log to shared/logs/shop.log when the host has that directory.
if (SHARED_DIR / "logs").is_dir():
    LOGGING["handlers"]["file"] = {
        "class": "logging.handlers.WatchedFileHandler",
        "filename": str(SHARED_DIR / "logs" / "shop.log"),
        "formatter": "plain",
    }
    LOGGING["root"]["handlers"] = ["file"]
    LOGGING["loggers"]["shop"]["handlers"] = ["file"]
