"""Nova's own verdict on every service of a deployment, as JSON.

Usage (in the Nova venv): python verdict.py --config-file nova.conf [--now 2026-11-26T12:00:00.5]

The answer comes from the code behind ``GET /os-services`` (what ``openstack
compute service list`` shows): ``ServiceController.index`` of Nova's compute
API, which calls ``HostAPI.service_get_all(set_zones=True, all_cells=True)``,
drops the WSGI API binaries and asks ``servicegroup.API().service_is_up()`` for
each service.  Its cell comes from ``scatter_gather_all_cells`` with
``ServiceList.get_all`` (what HostAPI runs per cell), matched by service uuid.
As a cross-check, ``service_is_up`` is asked again directly for every service.

``--now`` overrides oslo's utcnow(), the clock of Nova's rule (DbDriver.is_up).
"""

from __future__ import annotations

import argparse
import sys

import minimums
import novaboot
from nova import context as nova_context
from nova import objects, servicegroup
from nova.api.openstack import api_version_request, wsgi
from nova.api.openstack.compute import services as services_api
from nova.compute import api as compute_api

API_BINARIES = ("nova-osapi_compute", "nova-metadata")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--now")
    parser.add_argument("--microversion", default="2.53")
    args, nova_args = parser.parse_known_args()
    ctxt = novaboot.start(nova_args)
    novaboot.at(novaboot.parse_time(args.now))
    names = {cell.uuid: cell.name for cell in novaboot.cells(ctxt)}

    # Which cell each service lives in: the per-cell call of HostAPI._service_get_all_cells.
    per_cell = nova_context.scatter_gather_all_cells(ctxt, objects.ServiceList.get_all, None, set_zones=True)
    cell_of = {}
    for cell_uuid, result in per_cell.items():
        if nova_context.is_cell_failure_sentinel(result):
            sys.exit(f"cell {cell_uuid} did not answer Nova: {result!r}")
        for service in result:
            cell_of[service.uuid] = cell_uuid

    # GET /os-services, microversion 2.53+ (ids are uuids, forced_down shown)
    request = wsgi.Request.blank("/v2.1/os-services")
    request.environ["nova.context"] = ctxt
    request.api_version_request = api_version_request.APIVersionRequest(args.microversion)
    listed = services_api.ServiceController().index(request)["services"]

    # The same services straight from HostAPI and the servicegroup API.
    servicegroup_api = servicegroup.API()
    direct = {
        service.uuid: service
        for service in compute_api.HostAPI().service_get_all(ctxt, set_zones=True, all_cells=True)
        if service.binary not in API_BINARIES
    }
    out = []
    for entry in listed:
        service = direct.pop(entry["id"])
        state = "up" if servicegroup_api.service_is_up(service) else "down"
        if state != entry["state"]:
            sys.exit(f"Nova disagrees with itself on {entry}: service_is_up says {state}")
        cell_uuid = cell_of[entry["id"]]
        out.append(
            {
                "cell": names[cell_uuid],
                "cell_uuid": cell_uuid,
                "host": entry["host"],
                "binary": entry["binary"],
                "uuid": entry["id"],
                "state": entry["state"],
                "status": entry["status"],
                "zone": entry["zone"],
                "forced_down": entry["forced_down"],
                "disabled_reason": entry["disabled_reason"],
                "updated_at": novaboot.show_time(entry["updated_at"]),
                "last_seen_up": novaboot.show_time(service.last_seen_up),
                "created_at": novaboot.show_time(service.created_at),
            }
        )
    if direct:
        sys.exit(f"HostAPI lists services the API does not: {sorted(direct)}")
    # Service versions as Nova's control plane decides at startup: the minimum per binary across all cells,
    # and whether nova-conductor, nova-scheduler and nova-api would refuse to start beside the computes.
    novaboot.dump(
        {
            "now": novaboot.show_time(novaboot.timeutils.utcnow()),
            "service_down_time": servicegroup_api._driver.service_down_time,
            "services": out,
            **minimums.versions(ctxt),
        }
    )


if __name__ == "__main__":
    main()
