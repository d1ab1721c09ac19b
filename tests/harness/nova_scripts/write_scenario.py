"""Write services and aggregates into a Nova deployment through Nova's own objects and DB API.

Usage (in the Nova venv): python write_scenario.py --config-file nova.conf < scenario.json

Every row is written the way a running Nova writes it: ``Service.create()`` at
start-up (created_at), ``report_count += 1; save()`` for a heartbeat (Nova's
``service_update`` then sets last_seen_up), ``save()`` of disabled/
disabled_reason/forced_down for admin or libvirt actions (updated_at),
``destroy()`` for a deleted service (soft delete), ``Aggregate.create()`` and
``add_host()`` for availability zones.  Backdating is done by overriding oslo's
utcnow(), the clock Nova (and oslo.db's timestamp columns) use for every one of
these values, so no column is written by hand.

scenario.json::

    {"now": "2026-11-26T12:00:00" or null (this process's real UTC clock),
     "services": [{"cell": "cell1", "host": "cmp1", "binary": "nova-compute",
                   "topic": "compute" (default: the binary without "nova-"; null allowed),
                   "created": 300,            # seconds before now (negative: in the future)
                   "seen": [120, 30],         # heartbeats, seconds before now (omitted: never)
                   "admin": [{"age": 10, "disabled": true, "disabled_reason": "...",
                              "forced_down": false}],   # saves of these fields
                   "deleted": 5}],            # soft-deleted this long ago (omitted: not)
     "aggregates": [{"name": "agg1", "zone": "az1",     # zone: metadata availability_zone
                     "metadata": {"ssd": "true"},      # any other metadata
                     "hosts": ["cmp1"]}]}

Prints JSON: {"now": the moment used, "services": [{"cell", "host", "binary", "uuid"}]}.
"""

from __future__ import annotations

import datetime as dt
import json
import sys

import novaboot
from nova import context, objects


def main() -> None:
    ctxt = novaboot.start(sys.argv[1:])
    scenario = json.load(sys.stdin)
    now = novaboot.parse_time(scenario.get("now")) or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    by_name = {cell.name: cell for cell in novaboot.cells(ctxt)}

    # (moment, order, service index, action): every event of every service, oldest first
    events = []
    for index, spec in enumerate(scenario["services"]):
        events.append((spec["created"], 0, index, ("create", None)))
        for age in spec.get("seen") or []:
            events.append((age, 1, index, ("report", None)))
        for admin in spec.get("admin") or []:
            events.append((admin["age"], 2, index, ("admin", admin)))
        if spec.get("deleted") is not None:
            events.append((spec["deleted"], 3, index, ("destroy", None)))
    events.sort(key=lambda event: (-event[0], event[1], event[2]))

    services: dict[int, objects.Service] = {}
    for age, _, index, (action, detail) in events:
        spec = scenario["services"][index]
        novaboot.at(now - dt.timedelta(seconds=age))
        with context.target_cell(ctxt, by_name[spec["cell"]]) as cctxt:
            if action == "create":
                binary = spec["binary"]
                topic = spec["topic"] if "topic" in spec else binary.rpartition("nova-")[2]
                service = objects.Service(cctxt, host=spec["host"], binary=binary, topic=topic, report_count=0)
                service.create()
                services[index] = service
            elif action == "report":
                # DbDriver._report_state, minus the timer
                service = services[index]
                service.report_count += 1
                service.save()
            elif action == "admin":
                service = services[index]
                for field in ("disabled", "disabled_reason", "forced_down"):
                    if field in detail:
                        setattr(service, field, detail[field])
                service.save()
            else:
                services[index].destroy()

    for spec in scenario.get("aggregates") or []:
        novaboot.at(now - dt.timedelta(seconds=spec.get("age", 3600)))
        metadata = dict(spec.get("metadata") or {})
        if spec.get("zone") is not None:
            metadata["availability_zone"] = spec["zone"]
        aggregate = objects.Aggregate(ctxt, name=spec["name"], metadata=metadata)
        aggregate.create()
        for host in spec["hosts"]:
            aggregate.add_host(host)
    novaboot.at(None)

    novaboot.dump(
        {
            "now": now.isoformat(),
            "services": [
                {"cell": spec["cell"], "host": spec["host"], "binary": spec["binary"], "uuid": services[i].uuid}
                for i, spec in enumerate(scenario["services"])
            ],
        }
    )


if __name__ == "__main__":
    main()
