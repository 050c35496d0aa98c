"""Tier moves from billing to pricing: the table (`billing_tier`) stays; only Django's
state moves, and the content type follows so permissions keep their rows."""

import uuid

from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="pricing", model="tier").exists():
        ContentType.objects.filter(app_label="billing", model="tier").update(app_label="pricing")


class Migration(migrations.Migration):

    initial = True
    dependencies = [
        ("billing", "0003_payment_incident_duplicate"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Tier",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ("kind", models.CharField(choices=[("session", "Session"), ("extension", "Extension")],
                                                  max_length=10)),
                        ("name", models.CharField(max_length=60)),
                        ("minutes", models.PositiveIntegerField()),
                        ("price", models.PositiveIntegerField(help_text="IDR")),
                        ("is_active", models.BooleanField(default=True)),
                        ("sort_order", models.PositiveSmallIntegerField(default=0)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        "db_table": "billing_tier",
                        "ordering": ["kind", "sort_order", "price"],
                        "constraints": [models.CheckConstraint(condition=models.Q(("minutes__gt", 0)),
                                                               name="tier_minutes_positive")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, migrations.RunPython.noop),
    ]
