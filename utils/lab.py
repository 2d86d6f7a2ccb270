"""The Lab: one object per notebook that hands out the chosen backend's services.

``lab = utils.connect(BACKEND)``; then ``lab.wr`` is awswrangler itself on ``aws`` and the local
drop-in on ``local``, ``lab.s3_uri(key)`` builds ``s3://<bucket>/<key>`` on both, and
``lab.require("01_ingest")`` stops a notebook whose inputs are not there yet.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from utils import records
from utils.config import LabConfig
from utils.errors import ConfigError, PrerequisiteError, restore_ipython_tracebacks
from utils.local.lake import LocalLake, check_key
from utils.prereqs import PREREQUISITES


class LocalWrangler:
    """The ``wr`` of the local backend: ``wr.s3``, ``wr.catalog``, ``wr.athena``, ``wr.exceptions``.

    AWS equivalent: the ``awswrangler`` module. Anything else is a clear NotImplementedError.
    """

    def __init__(self, home: Path, region: str | None = None, bucket: str | None = None) -> None:
        from awswrangler import exceptions

        from utils.local.s3 import LocalS3

        self.home = Path(home)
        self.region = region
        self.lake = LocalLake(self.home)
        self.s3 = LocalS3(self.lake, default_bucket=bucket)
        self.exceptions = exceptions

    @functools.cached_property
    def catalog(self) -> Any:
        from utils.local.catalog import LocalCatalog

        return LocalCatalog(self.home, self.lake)

    @functools.cached_property
    def athena(self) -> Any:
        from utils.local.athena import LocalAthena

        return LocalAthena(self.home, self.lake, self.catalog, region=self.region)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotImplementedError(
            f"wr.{name} is not available on the local backend (it has wr.s3, wr.catalog and "
            "wr.athena); run this cell with BACKEND='aws'"
        )


class Lab:
    """A connection to one backend, made by :func:`connect`."""

    def __init__(self, config: LabConfig) -> None:
        self.config = config
        self._wr: Any = None

    # -- settings ------------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        return self.config.backend

    @property
    def bucket(self) -> str:
        return self.config.bucket

    @property
    def region(self) -> str:
        return self.config.region

    @property
    def database(self) -> str:
        return self.config.database

    @property
    def home(self) -> Path:
        """The folder that holds the local backend's state (the lake, catalog, jobs)."""
        return self.config.home

    @property
    def is_local(self) -> bool:
        return self.config.backend == "local"

    def __repr__(self) -> str:
        where = f"home={str(self.home)!r}" if self.is_local else f"region={self.region!r}"
        return f"Lab(backend={self.backend!r}, bucket={self.bucket!r}, {where})"

    # -- services ------------------------------------------------------------------------------
    @functools.cached_property
    def boto3_session(self) -> Any:
        """A ``boto3.Session`` in the lab's region; locally, one whose clients are the local
        backend's (:mod:`utils.local.session`): the same calls, shapes and error codes."""
        if self.is_local:
            from utils.local.session import local_boto3_session

            self.home.mkdir(parents=True, exist_ok=True)
            return local_boto3_session(self.local_account)
        import boto3

        return boto3.Session(region_name=self.region)

    @property
    def local_account(self) -> Any:
        """The local backend's account (home, region, id); only on ``local``."""
        from utils.local.service import LOCAL_ACCOUNT, LocalAccount

        if not self.is_local:
            raise ConfigError("local_account is the local backend's; on aws use lab.account")
        return LocalAccount(
            self.home, self.region, LOCAL_ACCOUNT, self.bucket, self.database, self.config.seed
        )

    def client(self, service_name: str, **kwargs: Any) -> Any:
        """``boto3.client(service_name)`` in the lab's region, on the lab's backend.

        AWS equivalent: ``boto3.Session(region_name=region).client(service_name)``. Locally the
        client is boto3's own, answered by the local backend; a call it does not implement
        raises NotImplementedError naming it.
        """
        return self.boto3_session.client(service_name, **kwargs)

    @functools.cached_property
    def session(self) -> Any:
        """A ``sagemaker.Session`` on the lab's clients, its default bucket the lab's bucket.

        AWS equivalent: ``sagemaker.Session()``. The SDK's classes (AutoML, Estimator, the
        Clarify processor, Predictor) take it as ``sagemaker_session=`` on both backends.
        """
        from utils.sdk import LOCAL_SDK_CONFIG, quiet_sagemaker

        quiet_sagemaker()
        import sagemaker

        if self.is_local:  # the SDK's Session, polling at local speed
            from utils.local.sagemaker_session import LocalSession

            return LocalSession(boto_session=self.boto3_session, default_bucket=self.bucket,
                                sagemaker_config=LOCAL_SDK_CONFIG)  # fmt: skip
        return sagemaker.Session(boto_session=self.boto3_session, default_bucket=self.bucket)

    @functools.cached_property
    def account(self) -> str:
        """The AWS account id (``sts.get_caller_identity()["Account"]``)."""
        return self.client("sts").get_caller_identity()["Account"]

    @functools.cached_property
    def role(self) -> str:
        """The SageMaker execution role's ARN: ROLE / ``$LAB_ROLE`` if set, else
        ``sagemaker.get_execution_role()`` (locally: the local backend's one role)."""
        if self.config.role:
            return self.config.role
        import sagemaker

        try:
            return sagemaker.get_execution_role(sagemaker_session=self.session)
        except Exception as exc:  # noqa: BLE001 - outside SageMaker there is no execution role
            raise ConfigError(
                "no SageMaker execution role: set ROLE in the parameters cell or LAB_ROLE to an "
                "IAM role ARN that SageMaker can assume (arn:aws:iam::<account>:role/<name>), or "
                f"run in SageMaker Studio, where get_execution_role() finds it ({exc})"
            ) from exc

    @property
    def wr(self) -> Any:
        """awswrangler on ``aws``; the local drop-in (same calls) on ``local``."""
        if self._wr is None:
            if self.is_local:
                self.home.mkdir(parents=True, exist_ok=True)
                self._wr = LocalWrangler(self.home, region=self.region, bucket=self.bucket)
            else:
                import awswrangler

                self._wr = awswrangler
        return self._wr

    def s3_uri(self, key: str = "") -> str:
        """``s3://<bucket>/<key>``, the same on both backends. AWS: an S3 object or prefix URI."""
        check_key(key, f"s3://{self.bucket}/{key}")
        return f"s3://{self.bucket}/{key}"

    def ensure_bucket(self) -> str:
        """Create the lab's bucket if it is missing; returns its name.

        AWS equivalent: ``sagemaker.Session().default_bucket()``, which creates
        ``sagemaker-<region>-<account>`` on first use.
        """
        if self.is_local:
            LocalLake(self.home).path_for(f"s3://{self.bucket}/").mkdir(parents=True, exist_ok=True)
            return self.bucket
        import boto3
        from botocore.exceptions import ClientError

        s3 = boto3.client("s3", region_name=self.region)
        try:
            s3.head_bucket(Bucket=self.bucket)
            return self.bucket
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in ("404", "NoSuchBucket", "NotFound"):
                raise ConfigError(
                    f"BUCKET={self.bucket!r} exists but this account cannot use it ({code}): "
                    "choose another name with BUCKET or LAB_BUCKET"
                ) from exc
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        s3.create_bucket(**kwargs)
        return self.bucket

    @property
    def workdir(self) -> Path:
        """A folder for the files a notebook writes before it uploads them (the course writes
        them next to the notebook): ``<lab home>/work/``, never in git, on both backends."""
        path = self.home / "work"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def provide_course_bucket(self, raw_path: str | Path) -> list[str]:
        """The course's public bucket, ``s3://dlai-practical-data-science/``, as the labs read it.

        AWS: the bucket is public; nothing to do. Locally (where an ``s3://`` URI always means
        the lake), its raw, transformed and balanced files are derived from ``raw_path`` by the
        project's own code (:func:`utils.datasets.course_bucket_files`) and are read-only, as on
        AWS: a write there is AccessDenied. Returns the files' URIs.
        """
        from utils import datasets

        if not self.is_local:
            return [f"s3://{datasets.COURSE_BUCKET}/{key}" for key in datasets.COURSE_KEYS.values()]
        import hashlib

        digest = hashlib.sha256(Path(raw_path).read_bytes()).hexdigest()
        return LocalLake(self.home).write_course_bucket(
            list(datasets.COURSE_KEYS.values()),
            f"{digest} seed={self.config.seed}",
            lambda: datasets.course_bucket_files(raw_path, seed=self.config.seed),
        )

    def local_path(self, uri: str) -> Path:
        """Where an ``s3://`` object lives on the local backend (for inspection and tests)."""
        if not self.is_local:
            raise ConfigError("local_path() is for the local backend; on aws the object is in S3")
        return LocalLake(self.home).path_for(uri)

    # -- notebook helpers ----------------------------------------------------------------------
    def record(self, name: str, value: Any) -> None:
        """Record a key result for the tests and the run report (see :mod:`utils.records`)."""
        records.record(name, value)

    def check(self, notebook: str) -> str | None:
        """None when ``notebook`` has produced what later ones read, else ``"Run <notebook>
        first: <what is missing>"``. Only looks; for an optional input (``require`` stops)."""
        try:
            check = PREREQUISITES[notebook]
        except KeyError:
            raise ValueError(
                f"unknown notebook {notebook!r}; known: {sorted(PREREQUISITES)}"
            ) from None
        problem = check(self)
        return f"Run {notebook} first: {problem}" if problem else None

    def require(self, notebook: str) -> None:
        """Stop with a clear message if ``notebook`` has not produced what this one needs."""
        problem = self.check(notebook)
        if problem:
            restore_ipython_tracebacks()  # the message alone, even after rich's hook
            raise PrerequisiteError(problem)


def _aws_account(region: str) -> str:
    import boto3

    try:
        return boto3.client("sts", region_name=region).get_caller_identity()["Account"]
    except Exception as exc:  # noqa: BLE001 - any failure here means "no usable credentials"
        raise ConfigError(
            f"BACKEND='aws' needs AWS credentials (STS GetCallerIdentity failed: {exc}). "
            "Configure them (aws configure, or run in SageMaker Studio), or use BACKEND='local'."
        ) from exc


def connect(backend: str | None = None, **overrides: Any) -> Lab:
    """Build a Lab for ``backend`` ('local' or 'aws'); keyword arguments override settings.

    Overrides: bucket, region, database, home, seed, role. ``None`` means "not set here":
    the environment variable (LAB_BUCKET, ...) or the default is used instead.
    """
    config = LabConfig.resolve(backend=backend, **overrides)
    if config.backend == "local":
        # boto3.client(...) and sagemaker.Session() without arguments, as the course writes
        # them, then use the local backend's clients too
        import boto3

        from utils.local.session import make_default
        from utils.sdk import opt_out_of_telemetry

        lab = Lab(config)
        boto3.DEFAULT_SESSION = lab.boto3_session
        make_default(lab.boto3_session)  # and boto3.Session(...) of the course's own
        opt_out_of_telemetry(lab.home)  # the SDK would report usage over the network
        return lab
    if config.backend == "aws":
        import boto3

        from utils.local.session import clear_default

        clear_default()  # sessions made from now on are AWS's, even after a local lab
        boto3.setup_default_session(region_name=config.region)
        explicit_bucket = overrides.get("bucket") is not None or _env_has_bucket()
        if not explicit_bucket:
            account = _aws_account(config.region)
            config = LabConfig.resolve(backend=backend, account=account, **overrides)
    return Lab(config)


def _env_has_bucket() -> bool:
    return bool(os.environ.get("LAB_BUCKET"))
