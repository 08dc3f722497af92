"""The whole parameter set of one profile: one section per stage."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field

from minutes.config.asr import AsrParams
from minutes.config.base import Section
from minutes.config.data import DataParams
from minutes.config.evaluate import EvaluateParams
from minutes.config.index import IndexParams
from minutes.config.infra import InfraParams
from minutes.config.monitor import MonitorParams
from minutes.config.platform import MlflowParams, RayParams
from minutes.config.retrain import RetrainParams
from minutes.config.runner import RunnerParams
from minutes.config.serve import ServeParams
from minutes.config.train import TrainParams


class Params(Section):
    """Typed parameters of a profile (params/<profile>.yaml after `extends` and overrides)."""

    profile: str = Field(..., description="name of the profile")
    description: str = ""
    #: Where stages keep their products between runs (stage cache lives here).
    work_dir: Path
    #: Where every run's archived reports go.
    runs_dir: Path = Path("outputs/runs")
    force: bool = False
    #: Offline profiles never contact a model hub (HF_HUB_OFFLINE=1 for every stage).
    offline: bool = True
    data: DataParams
    asr: AsrParams = AsrParams()
    index: IndexParams = IndexParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    serve: ServeParams = ServeParams()
    mlflow: MlflowParams = MlflowParams()
    monitor: MonitorParams = MonitorParams()
    ray: RayParams = RayParams()
    infra: InfraParams = InfraParams()
    runner: RunnerParams = RunnerParams()
    retrain: RetrainParams = RetrainParams()

    def stage_dir(self, stage: str) -> Path:
        """The folder a stage writes its products into."""
        return self.work_dir / stage
