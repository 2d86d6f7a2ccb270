"""The container images the local SageMaker can run, and the engine that stands for each.

AWS equivalent: the ECR images of SageMaker's built-in algorithms and processing containers.
Locally an image is a Python entry point that follows the container's contract on a folder that
stands for the container's file system (:class:`utils.local.sagemaker.worker.Container`):

- ``blazingtext`` (``sagemaker.image_uris.retrieve("blazingtext", region)``): training, with
  fastText (supervised mode), and hosting with BlazingText's request and response format;
- ``sagemaker-clarify-processing`` (``image_uris.retrieve("clarify", region)``): a processing
  job that runs smclarify on the analysis config, writing what Clarify writes;
- ``local/automl-*``: the inference containers of the local Autopilot's candidates (hosting).

The image is matched by its repository name, whatever the registry's account or region, so
the same image URI works on both backends. Any other image is refused with a clear error
naming it, before a job or an endpoint starts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from utils.local.service import ServiceError

AUTOPILOT_PREFIX = "local/automl-"


@dataclass(frozen=True)
class Image:
    """What the local backend does with one image: train, process and/or serve."""

    repository: str
    description: str
    train: str | None = None  # "module:function", called with the job's Container
    process: str | None = None  # "module:function", called with the job's Container
    serve: str | None = None  # "module:function", called with the unpacked model folder
    metric_definitions: tuple[dict[str, str], ...] = field(default=())

    def entry(self, role: str) -> Callable[..., Any]:
        target = getattr(self, role)
        if not target:
            raise ServiceError("ValidationException", f"the image {self.repository} cannot "
                               f"{role} on the local backend")  # fmt: skip
        module, _, name = target.partition(":")
        return getattr(importlib.import_module(module), name)


# BlazingText's metrics, as the algorithm's definition lists them (supervised mode)
BLAZINGTEXT_METRICS = (
    {"Name": "train:accuracy", "Regex": r"#train_accuracy: (\S+)"},
    {"Name": "validation:accuracy", "Regex": r"#validation_accuracy: (\S+)"},
)

IMAGES: tuple[Image, ...] = (
    Image("blazingtext", "BlazingText (fastText, supervised mode)",
          train="utils.local.blazingtext:train", serve="utils.local.blazingtext:load_model",
          metric_definitions=BLAZINGTEXT_METRICS),
    Image("sagemaker-clarify-processing", "SageMaker Clarify (smclarify)",
          process="utils.local.clarify:process"),
    Image(AUTOPILOT_PREFIX, "the local Autopilot's inference containers",
          serve="utils.local.automl.model:load_model_dir"),
)  # fmt: skip


def repository(image_uri: str) -> str:
    """``811284229777.dkr.ecr.us-east-1.amazonaws.com/blazingtext:1`` -> ``blazingtext``."""
    uri = str(image_uri)
    if uri.startswith("local/"):
        return uri.split(":")[0]
    path = uri.split("/", 1)[1] if "/" in uri else uri
    return path.split("@")[0].split(":")[0]


def find(image_uri: Any, role: str, call: str) -> Image:
    """The local image for ``image_uri`` that can ``role`` ("train", "process", "serve")."""
    repo = repository(image_uri)
    for image in IMAGES:
        matches = repo.startswith(image.repository) if image.repository.endswith("-") else (
            repo == image.repository)  # fmt: skip
        if matches and getattr(image, role):
            return image
    able = [f"{i.repository}{'*' if i.repository.endswith('-') else ''} ({i.description})"
            for i in IMAGES if getattr(i, role)]  # fmt: skip
    raise ServiceError(
        "ValidationException",
        f"{call}: the image {image_uri!r} cannot {role} on the local backend, which runs no "
        f"containers; the images it can {role} are: {'; '.join(able)}. Use one of them (e.g. "
        "sagemaker.image_uris.retrieve(...)) or run this on BACKEND='aws'.",
    )
