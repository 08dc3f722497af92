"""ETL: corpora in (QMSum, AMI, synthesized or user recordings), utterances, queries, splits and
chunks out. `minutes.data.etl.run_etl(params)` runs the whole stage; the modules follow the data:
sources (qmsum, ami, synth, folder) -> clean/timing -> splits -> chunking -> validate.
"""
