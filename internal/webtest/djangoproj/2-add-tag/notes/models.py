from django.db import models


class Note(models.Model):
    text = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
    tag = models.CharField(max_length=40, default="")

    @classmethod
    def for_health(cls):
        # Reads the column migration 0002 adds: fails until it is applied.
        return cls.objects.filter(tag="").count()
