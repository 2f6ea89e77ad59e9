"""spark-submit entry point of the daily job (a file path spark-submit can run),
from the clone's root, the venv not activated (README, "The daily job"):

    PYSPARK_PYTHON=$PWD/.venv/bin/python .venv/bin/spark-submit --master 'local[2]' \
      --jars "$(echo var/jars/spark/*.jar | tr ' ' ,)" \
      spark_app/daily/entry.py --day 2016-11-18

The submitter's --name, --conf and spark-defaults.conf win; fleetwatch fills in the rest.
"""

import sys

from spark_app.daily.main import main

if __name__ == "__main__":
    sys.exit(main())
