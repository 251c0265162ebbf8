from django.db import migrations, models

NOTE_FIELDS = [
    ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
    ("text", models.TextField()),
    ("created", models.DateTimeField(auto_now_add=True)),
]


class Migration(migrations.Migration):
    initial = True
    operations = [migrations.CreateModel("Note", NOTE_FIELDS)]
