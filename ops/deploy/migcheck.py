# opsui's migration compatibility check. It runs inside the release's own
# Django (`manage.py shell -c`, so the release's settings are loaded), reads
# the migrations with Django's loader, and prints one JSON object per
# operation of every migration not yet applied to the database:
#   {"app", "migration", "file", "index", "op", "verdict", "reason"}
# verdict is "safe" (old code keeps working against the new schema),
# "breaking" (old code fails against it) or "unknown" (opsui cannot tell).
# A last line {"done": N} says the check ran to its end.
import inspect
import json
import sys

from django.db import connections, DEFAULT_DB_ALIAS
from django.db.migrations import operations as ops
from django.db.migrations.executor import MigrationExecutor
from django.db.models import NOT_PROVIDED


def _emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")


def _old_field(state, app, model, name):
    ms = state.models.get((app, model.lower()))
    if ms is None:
        return None
    if isinstance(ms.fields, dict):  # Django 3.1 on
        return ms.fields.get(name)
    return dict(ms.fields).get(name)  # a list of pairs before


def _classify(op, app, state):
    """Returns (verdict, reason) for one operation, given the project state
    before it."""
    name = type(op).__name__
    if isinstance(op, (ops.RunPython, ops.RunSQL, ops.SeparateDatabaseAndState)):
        return "unknown", "%s: opsui cannot tell what it does to the data; review it" % name
    if isinstance(op, ops.CreateModel):
        return "safe", "a new table old code does not use"
    if isinstance(op, ops.DeleteModel):
        return "breaking", "drops table of model %s, which old code still queries" % op.name
    if isinstance(op, ops.RenameModel):
        return "breaking", "renames model %s to %s: old code queries the old table" % (op.old_name, op.new_name)
    if isinstance(op, ops.RemoveField):
        return "breaking", "drops column %s.%s, which old code still selects" % (op.model_name, op.name)
    if isinstance(op, ops.RenameField):
        return "breaking", "renames column %s.%s to %s: old code uses the old name" % (op.model_name, op.old_name, op.new_name)
    if isinstance(op, ops.AddField):
        f = op.field
        if f.unique or f.primary_key:
            return "breaking", "adds unique column %s.%s: rows old code inserts may collide" % (op.model_name, op.name)
        if f.many_to_many:
            return "safe", "a new join table old code does not use"
        if f.null:
            return "safe", "adds nullable column %s.%s" % (op.model_name, op.name)
        if getattr(f, "db_default", NOT_PROVIDED) is not NOT_PROVIDED:
            return "safe", "adds column %s.%s with a database default" % (op.model_name, op.name)
        if f.default is not NOT_PROVIDED:
            # Django fills existing rows with the default, then drops it from
            # the column: the default lives in Python only, in the new code.
            return "breaking", "adds NOT NULL column %s.%s whose default is Python-side only: old code's inserts fail" % (op.model_name, op.name)
        return "breaking", "adds NOT NULL column %s.%s without a default: old code's inserts fail" % (op.model_name, op.name)
    if isinstance(op, ops.AlterField):
        new = op.field
        old = _old_field(state, app, op.model_name, op.name)
        if new.unique and not (old is not None and old.unique):
            return "breaking", "makes %s.%s unique: existing data or old code's inserts may collide" % (op.model_name, op.name)
        if old is None:
            return "unknown", "alters %s.%s, which the migrations before it do not define" % (op.model_name, op.name)
        if not new.null and old.null:
            # A default does not help: old code saves None explicitly.
            return "breaking", "makes %s.%s NOT NULL: old code still writes NULL there" % (op.model_name, op.name)
        if (old.db_column or op.name) != (new.db_column or op.name):
            return "breaking", "moves %s.%s to column %s: old code uses the old one" % (op.model_name, op.name, new.db_column or op.name)
        return "safe", "alters %s.%s compatibly (type or options)" % (op.model_name, op.name)
    if isinstance(op, (ops.AlterUniqueTogether,)):
        if op.unique_together:
            return "breaking", "unique_together on %s: existing data or old code's inserts may collide" % op.name
        return "safe", "drops a unique constraint"
    if isinstance(op, ops.AddConstraint):
        c = op.constraint
        if type(c).__name__ == "UniqueConstraint":
            return "breaking", "unique constraint %s on %s: existing data or old code's inserts may collide" % (c.name, op.model_name)
        return "breaking", "constraint %s on %s: old code's writes may violate it" % (c.name, op.model_name)
    if isinstance(op, ops.RemoveConstraint):
        return "safe", "drops constraint %s" % op.name
    if isinstance(op, ops.AddIndex):
        if name == "AddIndexConcurrently":
            return "safe", "adds index %s concurrently" % op.index.name
        return "safe", "adds index %s (locks the table's writes while it builds on PostgreSQL)" % op.index.name
    if isinstance(op, ops.RemoveIndex):
        return "safe", "drops index %s" % op.name
    if isinstance(op, (ops.AlterModelOptions, ops.AlterModelManagers)):
        return "safe", "Python-side only: no schema change"
    if isinstance(op, ops.AlterModelTable):
        return "breaking", "renames the table of %s: old code queries the old one" % op.name
    if isinstance(op, (ops.AlterIndexTogether, ops.AlterOrderWithRespectTo)):
        return "safe", "%s on %s" % (name, op.name)
    return "unknown", "%s is not an operation opsui knows" % name


def _model_of(op):
    name = getattr(op, "model_name", None) or getattr(op, "name", None)
    if isinstance(op, (ops.RunPython, ops.RunSQL, ops.SeparateDatabaseAndState)) or not isinstance(name, str):
        return None
    return name.lower()


def _file_of(migration):
    try:
        return inspect.getsourcefile(sys.modules[type(migration).__module__]) or ""
    except (KeyError, TypeError):
        return ""


def main():
    conn = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(conn)
    targets = executor.loader.graph.leaf_nodes()
    plan = executor.migration_plan(targets)
    state = executor._create_project_state(with_applied_migrations=True)
    n, breaking, created, pending = 0, 0, set(), []
    for migration, backwards in plan:
        if backwards:
            continue
        app = migration.app_label
        pending.append({"app": app, "migration": migration.name, "file": _file_of(migration)})
        for i, op in enumerate(migration.operations):
            model = (app, _model_of(op))
            if isinstance(op, ops.CreateModel):
                created.add(model)
            if model in created and not isinstance(op, ops.CreateModel):
                # No old code uses a table this deploy creates.
                verdict, reason = "safe", "%s on a table this deploy creates" % type(op).__name__
            else:
                verdict, reason = _classify(op, app, state)
            _emit({"app": app, "migration": migration.name, "file": _file_of(migration), "index": i,
                   "op": op.describe(), "verdict": verdict, "reason": reason})
            n += 1
            breaking += verdict == "breaking"
            op.state_forwards(app, state)
    _emit({"done": n, "pending": pending})
    sys.stdout.flush()
    return breaking


_opsui_breaking = main()
