"""LabConfig: which backend, bucket, region, database and lab home the notebooks use.

Each value comes from, in order: the notebook's parameters cell (the keyword arguments of
``utils.connect``), then an environment variable, then a default. A wrong value fails at once
with a message naming the parameter and what is allowed.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from utils.errors import ConfigError
from utils.local.lake import bucket_name_problem

BACKENDS = ("local", "aws")
DEFAULT_DATABASE = "dsoaws_deep_learning"
DEFAULT_REGION = "us-east-1"
LOCAL_ACCOUNT = "000000000000"
DEFAULT_SEED = 42

# parameter -> environment variables consulted, in order
ENV_VARS: dict[str, tuple[str, ...]] = {
    "backend": ("LAB_BACKEND",),
    "bucket": ("LAB_BUCKET",),
    "region": ("LAB_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
    "database": ("LAB_DATABASE",),
    "home": ("LAB_HOME",),
    "seed": ("LAB_SEED",),
    "role": ("LAB_ROLE", "SAGEMAKER_ROLE"),
}

_DATABASE_RE = re.compile(r"^[a-z0-9_]{1,255}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")


def project_root() -> Path:
    """The repository's top folder (the one holding ``notebooks/`` and ``utils/``)."""
    return Path(__file__).resolve().parents[1]


def default_home() -> Path:
    return project_root() / "data" / "lake"


def default_bucket(region: str, account: str = LOCAL_ACCOUNT) -> str:
    """SageMaker's default bucket name, ``sagemaker-<region>-<account>``."""
    return f"sagemaker-{region}-{account}"


@dataclass(frozen=True)
class LabConfig:
    """The lab's settings. Build it with :meth:`resolve`, which validates every value."""

    backend: str = "local"
    bucket: str = field(default_factory=lambda: default_bucket(DEFAULT_REGION))
    region: str = DEFAULT_REGION
    database: str = DEFAULT_DATABASE
    home: Path = field(default_factory=default_home)
    seed: int = DEFAULT_SEED
    role: str | None = None

    @classmethod
    def resolve(
        cls, env: dict[str, str] | None = None, account: str = LOCAL_ACCOUNT, **params: Any
    ) -> LabConfig:
        """Parameters (non-None keyword arguments) win over environment variables over defaults.

        ``account`` is used only for the default bucket name, ``sagemaker-<region>-<account>``.
        """
        env = dict(os.environ) if env is None else env
        unknown = sorted(set(params) - set(ENV_VARS))
        if unknown:
            raise ConfigError(f"unknown lab parameter(s) {unknown}: allowed are {sorted(ENV_VARS)}")
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for name, names in ENV_VARS.items():
            if params.get(name) is not None:
                values[name], sources[name] = params[name], "parameter"
                continue
            for var in names:
                if env.get(var):
                    values[name], sources[name] = env[var], f"${var}"
                    break

        backend = str(values.get("backend", "local")).strip().lower()
        if backend not in BACKENDS:
            raise ConfigError(
                f"BACKEND={values.get('backend')!r} ({sources.get('backend')}): "
                f"allowed values are {', '.join(map(repr, BACKENDS))}"
            )
        region = str(values.get("region", DEFAULT_REGION))
        if not _REGION_RE.match(region):
            raise ConfigError(
                f"REGION={region!r} ({sources.get('region', 'default')}): expected an AWS region "
                "name such as 'us-east-1' or 'eu-west-1'"
            )
        bucket = values.get("bucket")
        if bucket is None:
            bucket = default_bucket(region, account)
        problem = bucket_name_problem(bucket)
        if problem:
            raise ConfigError(f"BUCKET ({sources.get('bucket')}): {problem}")
        database = str(values.get("database", DEFAULT_DATABASE))
        if not _DATABASE_RE.match(database):
            raise ConfigError(
                f"DATABASE={database!r} ({sources.get('database', 'default')}): a Glue database "
                "name for Athena uses only lowercase letters, digits and underscores (1-255)"
            )
        home = Path(values["home"]).expanduser() if "home" in values else default_home()
        if not home.is_absolute():
            home = project_root() / home
        try:
            seed = int(values.get("seed", DEFAULT_SEED))
        except (TypeError, ValueError):
            raise ConfigError(
                f"SEED={values.get('seed')!r} ({sources.get('seed')}): expected a whole number >= 0"
            ) from None
        if seed < 0:
            raise ConfigError(f"SEED={seed} ({sources.get('seed')}): expected a whole number >= 0")
        role = values.get("role")
        return cls(backend=backend, bucket=bucket, region=region, database=database,
                   home=home, seed=seed, role=role)  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["home"] = str(self.home)
        return out
