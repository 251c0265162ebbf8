# Settings for gunicorn. Pass this file explicitly through the current
# symlink, `-c <deploy_to>/current/gunicorn.conf.py`, so that every HUP reads
# the new release's copy; command-line flags override it.
import multiprocessing
import os

wsgi_app = "shopsite.wsgi:application"
workers = int(os.environ.get("SHOP_WORKERS", min(4, multiprocessing.cpu_count())))
timeout = 30
graceful_timeout = 10
proc_name = "shop"

# <deploy_to>/releases/<id>/gunicorn.conf.py -> <deploy_to>/shared
_release = os.path.dirname(os.path.realpath(__file__))
_shared = os.environ.get("SHOP_SHARED_DIR", os.path.join(_release, os.pardir, os.pardir, "shared"))
if os.path.isdir(os.path.join(_shared, "logs")):
    accesslog = os.path.join(_shared, "logs", "access.log")
    errorlog = os.path.join(_shared, "logs", "gunicorn.log")
