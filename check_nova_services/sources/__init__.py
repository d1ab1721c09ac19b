"""Where the facts come from: nova.conf and URLs, the API database and its cells, connections and sessions, Nova's rule
as SQL, every cell read within the deadline. SQLAlchemy Core and PyMySQL live here."""
