import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """The session's tier now points at pricing.Tier: the same table, so state only."""

    dependencies = [("chat", "0003_stream_and_assignments"), ("pricing", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(model_name="session", name="tier", field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to="pricing.tier")),
        ], database_operations=[]),
    ]
