"""Routes of the pipeline area."""

from __future__ import annotations

from typing import Any


class PipelineRoutes:
    pipeline: Any
    caller: Any
