"""P4's "what dominates": where ingest's time went, against the batched floor's CPU."""
from bench.ingest import what_dominates


def test_what_dominates_names_each_part_and_both_cpu_figures():
    ingest = {"seconds": 22.34, "process_cpu_s": 9.31, "machine_cpu_s": 38.02,
              "parts": {"validate": 3.12, "wait": 18.96, "serialise": 1.04}}
    floor = {"seconds": 13.7, "process_cpu_s": 5.18, "machine_cpu_s": 27.5, "parts": {}}
    assert what_dominates(ingest, floor) == (
        "of ingest's 22.3 s, the main thread read and validated for 3.1 s and waited for "
        "Cassandra's acknowledgements for 19.0 s; the writer threads built batches for 1.0 s. "
        "CPU-seconds: this process 9.3 against the batched floor's 5.2, the machine (Cassandra "
        "included) 38.0 against 27.5 (13.7 s)")
