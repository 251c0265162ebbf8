from django.http import HttpResponse


def health(request):
    return HttpResponse("broken\n", status=500, content_type="text/plain")
