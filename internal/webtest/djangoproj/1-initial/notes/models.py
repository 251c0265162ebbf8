from django.db import models


class Note(models.Model):
    text = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    @classmethod
    def for_health(cls):
        return cls.objects.count()
