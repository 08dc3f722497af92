"""Typed parameter profiles (params/*.yaml)."""
from minutes.config.loader import ParamsError, load_params
from minutes.config.profile import Params

__all__ = ["Params", "ParamsError", "load_params"]
