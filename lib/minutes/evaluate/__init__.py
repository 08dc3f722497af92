"""Evaluation of the whole system (40_evaluate): ROUGE, baselines, slices, gates, promotion.

Modules follow the data flow: `dataset` (what is scored) -> `systems` (who answers) ->
`scoring` (ROUGE through the shipped `evaluate` metric) -> `report` (tables, plots, the quality
page) -> `gates` (pure decision) -> `promotion` (registry aliases). `stage` ties them together
for the notebook. No module here is called `evaluate.py`, so `import evaluate` always means the
Hugging Face library.
"""
