"""Every record shape of fleetwatch, defined once: the relational tables
(SQLAlchemy models) and the Spark schemas of the Cassandra tables and inputs."""
