import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Tier moved to pricing (same table): the extension's tier follows, billing's model
    leaves Django's state. Nothing changes in the database."""

    dependencies = [
        ("billing", "0003_payment_incident_duplicate"),
        ("pricing", "0001_initial"),
        ("chat", "0004_tier_in_pricing"),
        ("pairing", "0003_tier_in_pricing"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(model_name="extension", name="tier", field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, to="pricing.tier")),
            migrations.DeleteModel(name="Tier"),
        ], database_operations=[]),
    ]
