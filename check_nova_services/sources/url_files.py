"""The files a database URL names, checked before connecting: the TLS files and the option file of its query, and
the TLS files that option file's group names (PyMySQL reads them there too). A typo then says which file, instead of
PyMySQL's bare "[Errno 2]" or an option file silently ignored."""

from __future__ import annotations

import os

from sqlalchemy.engine import URL

from check_nova_services.shared.errors import ReadError
from check_nova_services.sources.urls import option_file

#: URL query options that name files the driver reads.
FILE_OPTIONS = ("read_default_file", "ssl_ca", "ssl_cert", "ssl_key", "ssl_capath")
#: The same files as an option file's group names them.
OPTION_FILE_FILES = {"ssl-ca": "ssl_ca", "ssl-cert": "ssl_cert", "ssl-key": "ssl_key", "ssl-capath": "ssl_capath"}


def check_files(url: URL) -> None:
    """Files named in the URL's query, or in its option file's group, must be readable by the monitoring user."""
    named = [(option, url.query.get(option), "") for option in FILE_OPTIONS]
    group = option_file(url)
    if group:
        where = f" (in {url.query.get('read_default_file')} [{url.query.get('read_default_group') or 'client'}])"
        named += [(key, group.get(key), where) for key in OPTION_FILE_FILES if not url.query.get(OPTION_FILE_FILES[key])]
    for option, value, where in named:
        for path in (value,) if isinstance(value, str) else (value or ()):
            if not path:
                continue
            full = os.path.expanduser(path)
            if option in ("ssl_capath", "ssl-capath"):
                readable = os.path.isdir(full) and os.access(full, os.R_OK | os.X_OK)
                problem = None if readable else "not a readable directory"
            else:
                try:
                    with open(full, "rb"):
                        problem = None
                except OSError as exc:
                    problem = exc.strerror or type(exc).__name__
            if problem:
                raise ReadError(f"{option} {path}{where}: {problem}")
