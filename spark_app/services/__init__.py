"""Local processes of the embedded defaults: the Cassandra node, the loopback SMTP sink, and the process helpers
(pid files, ports, terminate, status) they share. Imports `spark_app.common` only."""
