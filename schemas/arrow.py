"""Arrow schema of a pending block: the faults one `pending_faults.payload` cell
holds, as a zstd Arrow IPC stream (spark_app.daily.pending_blocks)."""

import pyarrow as pa

PENDING_BLOCK = pa.schema([("serial_number", pa.string()), ("model", pa.string()),
                           ("tag", pa.string()), ("ts", pa.timestamp("us", tz="UTC"))])
