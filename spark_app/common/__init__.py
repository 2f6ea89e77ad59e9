"""What every box shares: configuration and typed settings, the Spark and Cassandra sessions, connector reads,
the relational engine and the JVM jars. Imports only `schemas/` and `rules/`; no box of the data flow."""
