"""The registered model's MLflow flavour: a pyfunc whose artifact is the saved adapter directory.

`mlflow.pyfunc.load_model("models:/minutes-generator/3").predict(["<prompt>", ...])` generates;
`minutes.generate.registry.load_registered` downloads the same artifact and loads it without pyfunc.
"""
from __future__ import annotations

from typing import Any

import mlflow.pyfunc

from minutes.generate.generator import Generator

ADAPTER_ARTIFACT = "adapter"


class GeneratorModel(mlflow.pyfunc.PythonModel):
    """Prompts in, generated texts out (prompts come from minutes.generate.prompts.build_prompt)."""

    def load_context(self, context: Any) -> None:
        self.generator = Generator.from_dir(context.artifacts[ADAPTER_ARTIFACT])

    def predict(self, context: Any, model_input: list[str], params: dict[str, Any] | None = None) -> list[str]:
        return self.generator.generate(list(model_input))
