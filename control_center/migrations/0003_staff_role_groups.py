"""The staff roles as groups (control_center.roles). Staff who had no role before roles
existed become operators (the least role), so nobody is locked out by the upgrade and
nobody keeps more than an admin gives them."""

from django.db import migrations

from control_center.roles import BY_GROUP, BY_KEY, roles_sync


def create_roles(apps, schema_editor):
    using = schema_editor.connection.alias
    roles_sync(apps, using=using)
    User = apps.get_model("auth", "User")
    Group = apps.get_model("auth", "Group")
    operators = Group.objects.using(using).get(name=BY_KEY["operator"].group)
    for user in User.objects.using(using).filter(is_staff=True, is_superuser=False).exclude(groups__name__in=BY_GROUP):
        user.groups.add(operators)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("chat", "0001_initial"),
        ("control_center", "0002_staff_roles_and_recovery_codes"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
