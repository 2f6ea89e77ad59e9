"""spark-submit entry point of the temperature stream (a file path spark-submit can run):

    spark-submit --master spark://HOST:7077 \
      --packages org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.7,com.datastax.spark:spark-cassandra-connector_2.12:3.5.1 \
      --conf spark.pyspark.python=/path/to/.venv/bin/python \
      spark_app/stream/entry.py [--source DIR|kafka] [--available-now]
"""

import sys

from spark_app.stream.main import main

if __name__ == "__main__":
    sys.exit(main())
