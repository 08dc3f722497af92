"""ETL: corpora in (QMSum, AMI, synthesized or user recordings), utterances, queries, splits and
chunks out. `minutes.data.etl.run_etl(params)` runs the whole stage; the modules follow the data:
sources (qmsum, ami + download, synth, audio_sources for every recording) -> cleaning and time estimates (minutes.text) ->
splits -> chunking -> validate -> report (tables and plots for notebook 10_etl).
"""
