"""Start Nova's own code in this process the way the nova-api WSGI app does.

Runs only inside the Nova virtual environment (tests/nova_env.py makes it); the
plugin's test environment never imports this.  Import it first: like
``nova/wsgi/osapi_compute.py`` it picks native threading before anything can
import eventlet.
"""

from __future__ import annotations

import datetime as dt
import json
import sys

from nova import monkey_patch

monkey_patch.patch(backend="threading")

from nova import config, context, objects  # noqa: E402
from oslo_utils import timeutils  # noqa: E402


def start(argv: list[str]) -> context.RequestContext:
    """Load nova.conf from ``--config-file`` arguments (as nova-api does) and return an admin context."""
    objects.register_all()
    config.parse_args([sys.argv[0], *argv])
    return context.RequestContext(user_id="admin", project_id="admin", roles=["admin"], is_admin=True)


def cells(ctxt: context.RequestContext) -> list[objects.CellMapping]:
    """Every cell mapping, cell0 included, formatted by Nova (template URLs filled in)."""
    return list(objects.CellMappingList.get_all(ctxt))


def at(moment: dt.datetime | None) -> None:
    """Make oslo's utcnow() - Nova's only clock for rows and verdicts - return ``moment`` (None: real time)."""
    if moment is None:
        timeutils.clear_time_override()
    else:
        timeutils.set_time_override(moment)


def parse_time(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def show_time(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.replace(tzinfo=None).isoformat(sep=" ")


def dump(data) -> None:
    json.dump(data, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
