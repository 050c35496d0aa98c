"""One ordered stream per session and an assignment record per mitra turn.

- `Message.seq` (a global autoincrement primary key until now) becomes `row`; a new
  per-session, gapless `seq` is numbered from the old order; `Session.last_seq` holds the
  last one given.
- The idempotency key names the sender (the client, or the mitra who wrote).
- `SessionAssignment`: one row per mitra turn, back-filled with the current mitra of every
  session (from `matched_at`; served if that mitra has written).
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q


def number_messages(apps, schema_editor):
    Message = apps.get_model("chat", "Message")
    Session = apps.get_model("chat", "Session")
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "UPDATE chat_message m SET seq = n.seq FROM ("
                " SELECT row, row_number() OVER (PARTITION BY session_id ORDER BY row) AS seq FROM chat_message"
                ") n WHERE m.row = n.row"
            )
            cursor.execute(
                "UPDATE chat_session s SET last_seq = c.n FROM ("
                " SELECT session_id, count(*) AS n FROM chat_message GROUP BY session_id"
                ") c WHERE s.id = c.session_id"
            )
        return
    for session_id in Session.objects.values_list("pk", flat=True).iterator():
        rows = list(Message.objects.filter(session_id=session_id).order_by("row").values_list("row", flat=True))
        for n, row in enumerate(rows, start=1):
            Message.objects.filter(row=row).update(seq=n)
        Session.objects.filter(pk=session_id).update(last_seq=len(rows))


def backfill_assignments(apps, schema_editor):
    Session = apps.get_model("chat", "Session")
    Assignment = apps.get_model("chat", "SessionAssignment")
    Message = apps.get_model("chat", "Message")
    live = ("awaiting_payment", "active", "closing")
    batch = []
    for s in Session.objects.all().iterator():
        first = (Message.objects.filter(session_id=s.pk, sender="mitra", sender_mitra_id=s.mitra_id)
                 .order_by("seq").values_list("created_at", flat=True).first())
        ended = None if s.state in live else (s.closed_at or s.updated_at)
        batch.append(Assignment(session_id=s.pk, mitra_id=s.mitra_id, assigned_at=s.matched_at,
                                first_message_at=first, ended_at=ended,
                                end_reason="" if ended is None else "session_ended"))
        if len(batch) >= 1000:
            Assignment.objects.bulk_create(batch)
            batch = []
    Assignment.objects.bulk_create(batch)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_grace_period"),
        ("chat", "0002_session_reroute_needed_since_session_reroute_reason_and_more"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="message", name="message_idempotency_key"),
        migrations.RemoveIndex(model_name="message", name="message_session_seq_idx"),
        migrations.RenameField(model_name="message", old_name="seq", new_name="row"),
        migrations.AddField(model_name="message", name="seq", field=models.PositiveBigIntegerField(null=True)),
        migrations.AddField(model_name="session", name="last_seq", field=models.PositiveBigIntegerField(default=0)),
        migrations.AddField(model_name="session", name="mitra_away_since",
                            field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="session", name="unserved_since",
                            field=models.DateTimeField(blank=True, null=True)),
        migrations.RunPython(number_messages, migrations.RunPython.noop),
        migrations.AlterField(model_name="message", name="seq", field=models.PositiveBigIntegerField()),
        migrations.AlterModelOptions(name="message", options={"ordering": ["session", "seq"]}),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(fields=("session", "seq"), name="message_session_seq"),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(
                condition=Q(sender="client") & ~Q(client_message_id=""),
                fields=("session", "client_message_id"), name="message_idempotency_client"),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(
                condition=Q(sender="mitra") & ~Q(client_message_id=""),
                fields=("session", "sender_mitra", "client_message_id"), name="message_idempotency_mitra"),
        ),
        migrations.CreateModel(
            name="SessionAssignment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("assigned_at", models.DateTimeField()),
                ("first_message_at", models.DateTimeField(blank=True, null=True)),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                ("end_reason", models.CharField(blank=True, choices=[
                    ("rerouted", "Rerouted"), ("mitra_no_show", "Mitra No Show"), ("mitra_offline", "Mitra Offline"),
                    ("mitra_deactivated", "Mitra Deactivated"), ("session_ended", "Session Ended")], max_length=20)),
                ("credited_seconds", models.PositiveIntegerField(default=0)),
                ("mitra", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="assignments",
                                            to="accounts.mitra")),
                ("session", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                              related_name="assignments", to="chat.session")),
            ],
            options={
                "ordering": ["assigned_at", "id"],
                "indexes": [models.Index(condition=Q(ended_at__isnull=True, first_message_at__isnull=True),
                                         fields=["first_message_at"], name="assignment_unserved_idx")],
                "constraints": [models.UniqueConstraint(condition=Q(ended_at__isnull=True), fields=("session",),
                                                        name="one_current_assignment_per_session")],
            },
        ),
        migrations.RunPython(backfill_assignments, migrations.RunPython.noop),
    ]
