import logging
import time

log = logging.getLogger("shop.requests")


class RequestLogMiddleware:
    """Logs one line per request, so the logs grow as the demo runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.monotonic()
        response = self.get_response(request)
        log.info(
            "%s %s %d %.1fms",
            request.method,
            request.path,
            response.status_code,
            (time.monotonic() - start) * 1000,
        )
        return response
