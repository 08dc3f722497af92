"""Answer and minutes generation: prompts, the base seq2seq model, and the `Generator`.

Evaluation (40) and the service (50) call `prompts.build_prompt` and `generator.Generator`;
training (30) uses the same prompt builder so a model sees at inference what it saw in training.
"""
