"""Nova's releases and their service versions, as data: which compute versions a control plane accepts.

Sources, all ``nova/objects/service.py``:

- ``SERVICE_VERSION_ALIASES`` is Nova 34.0.0's (Hibiscus) table, verbatim: the service version each
  release's computes run.
- ``RELEASES`` gives, for each release's first tag (``N.0.0``), its own ``SERVICE_VERSION`` and its
  ``OLDEST_SUPPORTED_SERVICE_VERSION``: the oldest release whose computes its conductors, schedulers
  and API still start beside (``nova/utils.py``, ``raise_if_old_compute``). Read from the tags 23.0.0
  (Wallaby, where the check began) to 34.0.0.

Kept current: ``tests/test_nova_agreement.py`` compares this table with the one of the Nova it installs
and fails when they differ; on a new Nova release, add its alias and its row here (the release notes of
the plugin say which Nova the table knows).
"""

from __future__ import annotations

from dataclasses import dataclass

SERVICE_VERSION_ALIASES: dict[str, int] = {
    "Victoria": 52,
    "Wallaby": 54,
    "Xena": 57,
    "Yoga": 61,
    "Zed": 64,
    "Antelope": 66,
    "Bobcat": 66,
    "Caracal": 66,
    "Dalmatian": 67,
    "Epoxy": 68,
    "Flamingo": 70,
    "Gazpacho": 72,
    "Hibiscus": 74,
}


@dataclass(frozen=True)
class Release:
    name: str
    #: Nova's major version (23 is Wallaby).
    major: int
    #: SERVICE_VERSION of the release's first tag: what its services write into ``services.version``.
    service_version: int
    #: OLDEST_SUPPORTED_SERVICE_VERSION: computes older than this release's alias stop its control plane.
    oldest_supported: str


RELEASES: tuple[Release, ...] = (
    Release("Wallaby", 23, 56, "Victoria"),
    Release("Xena", 24, 60, "Wallaby"),
    Release("Yoga", 25, 61, "Xena"),
    Release("Zed", 26, 64, "Yoga"),
    Release("Antelope", 27, 66, "Yoga"),
    Release("Bobcat", 28, 66, "Antelope"),
    Release("Caracal", 29, 67, "Antelope"),
    Release("Dalmatian", 30, 67, "Caracal"),
    Release("Epoxy", 31, 68, "Caracal"),
    Release("Flamingo", 32, 70, "Epoxy"),
    Release("Gazpacho", 33, 72, "Epoxy"),
    Release("Hibiscus", 34, 74, "Gazpacho"),
)
