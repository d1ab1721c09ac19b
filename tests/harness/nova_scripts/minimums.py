"""Nova's minimum service versions and its startup check on them, as JSON, alone.

Usage (in the Nova venv): python minimums.py --config-file nova.conf

``get_minimum_version_all_cells`` (``nova/objects/service.py``) per binary, and whether
``raise_if_old_compute`` (``nova/utils.py``) would stop a conductor, scheduler or API. Both are plain SQL
(``service_get_minimum_version``) and load no Service object: unlike verdict.py, which lists services,
this answers also over rows Nova's objects cannot load (``forced_down`` NULL).
"""

from __future__ import annotations

import sys

import novaboot
from nova import exception, utils
from nova.objects import service as service_objects


def versions(ctxt) -> dict:
    minimums = {
        binary: service_objects.get_minimum_version_all_cells(ctxt, [binary])
        for binary in ("nova-compute", "nova-conductor", "nova-scheduler")
    }
    try:
        utils.raise_if_old_compute()
        too_old = None
    except exception.TooOldComputeService as exc:
        too_old = str(exc)
    return {
        "minimum_versions": minimums,
        "oldest_supported": service_objects.SERVICE_VERSION_ALIASES[service_objects.OLDEST_SUPPORTED_SERVICE_VERSION],
        "version_aliases": service_objects.SERVICE_VERSION_ALIASES,
        "service_version": service_objects.SERVICE_VERSION,
        "too_old": too_old,
    }


if __name__ == "__main__":
    novaboot.dump(versions(novaboot.start(sys.argv[1:])))
