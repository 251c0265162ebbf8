# gunicorn reads ./gunicorn.conf.py from its working directory at start and
# again on every HUP. Command-line flags override these settings.
import multiprocessing
import os

wsgi_app = "shopsite.wsgi:application"
workers = int(os.environ.get("SHOP_WORKERS", min(4, multiprocessing.cpu_count())))
timeout = 30
graceful_timeout = 10
proc_name = "shop"

# <release>/../../shared, resolved from the working directory (the `current`
# symlink when gunicorn is started with --chdir <deploy_to>/current).
_shared = os.environ.get(
    "SHOP_SHARED_DIR", os.path.join(os.getcwd(), os.pardir, os.pardir, "shared")
)
if os.path.isdir(os.path.join(_shared, "logs")):
    accesslog = os.path.join(_shared, "logs", "access.log")
    errorlog = os.path.join(_shared, "logs", "gunicorn.log")
