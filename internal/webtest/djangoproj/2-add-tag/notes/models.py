from django.db import models


class Note(models.Model):
    text = models.TextField()
    tag = models.CharField(max_length=40, default="")
