"""spark-submit entry point of the daily job (a file path spark-submit can run):

    spark-submit --master spark://HOST:7077 \
      --packages com.datastax.spark:spark-cassandra-connector_2.12:3.5.1 \
      --conf spark.pyspark.python=/path/to/.venv/bin/python \
      spark_app/daily/entry.py --day 2016-11-18
"""

import sys

from spark_app.daily.main import main

if __name__ == "__main__":
    sys.exit(main())
