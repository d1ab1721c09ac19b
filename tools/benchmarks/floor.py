"""The floor the plugin is measured against: PyMySQL alone, one SELECT per cell, Nova's rule in a
Python loop, the down services printed.  No SQLAlchemy, no nagiosplugin, no thresholds, no zones.

    python tools/benchmarks/floor.py NOW HOST:PORT:USER:PASSWORD:DATABASE [...]

NOW is the fixed UTC instant (ISO-8601) the rule is applied at, as the plugin's --clock.
"""

from __future__ import annotations

import datetime as dt
import sys

import pymysql

DOWN_TIME = dt.timedelta(seconds=60)


def main() -> None:
    now = dt.datetime.fromisoformat(sys.argv[1])
    total = down = 0
    names = []
    for spec in sys.argv[2:]:
        host, port, user, password, database = spec.split(":", 4)
        conn = pymysql.connect(host=host, port=int(port), user=user, password=password, database=database)
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT host, `binary`, forced_down, last_seen_up, created_at FROM services "
                    "WHERE deleted = 0 AND `binary` NOT IN ('nova-osapi_compute', 'nova-metadata')"
                )
                for host, binary, forced_down, last_seen_up, created_at in cursor:
                    total += 1
                    beat = last_seen_up or created_at
                    if forced_down or beat is None or abs(now - beat) > DOWN_TIME:
                        down += 1
                        if len(names) < 5:
                            names.append(f"{binary}@{host}")
        finally:
            conn.close()
    print(f"{down} of {total} services down: {', '.join(names)}")


if __name__ == "__main__":
    main()
