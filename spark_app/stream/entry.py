"""spark-submit entry point of the temperature stream (a file path spark-submit can
run), from the clone's root, the venv not activated (README, "The temperature stream"):

    PYSPARK_PYTHON=$PWD/.venv/bin/python .venv/bin/spark-submit --master 'local[2]' \
      --jars "$(echo var/jars/spark/*.jar var/jars/kafka/*.jar | tr ' ' ,)" \
      spark_app/stream/entry.py [--source DIR|kafka] [--available-now]

The submitter's --name, --conf and spark-defaults.conf win; fleetwatch fills in the rest.
"""

import sys

from spark_app.stream.main import main

if __name__ == "__main__":
    sys.exit(main())
