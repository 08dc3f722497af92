"""LoRA fine-tuning of the generator under Ray Tune, tracked and registered in MLflow (30_train).

Data flows pairs -> lora -> loop -> trial -> tune: `pairs` turns queries and retrieved chunks into
(source, target) texts, `lora` wraps a seq2seq model, `loop` trains and scores it, `trial` is one
Ray Tune trial with its MLflow run, and `tune.run_study` drives the search and registers the best.
"""
