from pathlib import Path

import pytest

import utils
from utils.config import DEFAULT_DATABASE, LabConfig, project_root
from utils.errors import ConfigError


def test_defaults():
    cfg = LabConfig.resolve(env={})
    assert cfg.backend == "local"
    assert cfg.database == DEFAULT_DATABASE == "dsoaws_deep_learning"
    assert cfg.region == "us-east-1"
    assert cfg.bucket == "sagemaker-us-east-1-000000000000"
    assert cfg.home == project_root() / "data" / "lake"
    assert cfg.seed == 42


def test_parameter_beats_env_beats_default(tmp_path):
    env = {"LAB_DATABASE": "from_env", "LAB_HOME": str(tmp_path), "LAB_SEED": "7"}
    cfg = LabConfig.resolve(env=env)
    assert (cfg.database, cfg.home, cfg.seed) == ("from_env", tmp_path, 7)
    cfg = LabConfig.resolve(env=env, database="from_param", seed=3)
    assert (cfg.database, cfg.seed) == ("from_param", 3)
    # None in the parameters cell means "not set here"
    assert LabConfig.resolve(env=env, database=None).database == "from_env"


def test_region_from_aws_env_and_default_bucket_follows():
    cfg = LabConfig.resolve(env={"AWS_REGION": "eu-west-1"})
    assert cfg.region == "eu-west-1"
    assert cfg.bucket == "sagemaker-eu-west-1-000000000000"


def test_relative_home_is_under_the_project():
    assert LabConfig.resolve(env={}, home="data/other").home == project_root() / "data/other"


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"backend": "azure"}, ["BACKEND", "'local'", "'aws'"]),
        ({"bucket": "My_Bucket"}, ["BUCKET", "lowercase"]),
        ({"bucket": "ab"}, ["BUCKET", "3 to 63"]),
        ({"bucket": "192.168.1.1"}, ["BUCKET", "IP address"]),
        ({"database": "Reviews-DB"}, ["DATABASE", "lowercase letters, digits and underscores"]),
        ({"region": "mars-1"}, ["REGION", "us-east-1"]),
        ({"seed": "abc"}, ["SEED", "whole number"]),
        ({"seed": -1}, ["SEED"]),
        ({"colour": "red"}, ["unknown lab parameter", "colour"]),
    ],
)
def test_wrong_values_fail_at_once_naming_the_parameter(params, words):
    with pytest.raises(ConfigError) as err:
        LabConfig.resolve(env={}, **params)
    for word in words:
        assert word in str(err.value)


def test_wrong_env_value_names_the_variable():
    with pytest.raises(ConfigError, match=r"\$LAB_BACKEND"):
        LabConfig.resolve(env={"LAB_BACKEND": "gcp"})


def test_connect_local(tmp_path):
    lab = utils.connect("local", home=tmp_path)
    assert lab.backend == "local" and lab.home == tmp_path
    assert lab.s3_uri("data/raw/") == f"s3://{lab.bucket}/data/raw/"
    assert lab.s3_uri() == f"s3://{lab.bucket}/"


def test_connect_aws_uses_the_account_for_the_default_bucket(aws_lab):
    import utils as u

    lab = u.connect("aws", region="us-east-1")
    assert lab.bucket == "sagemaker-us-east-1-123456789012"  # moto's account
    assert aws_lab.s3_uri("data/raw/") == "s3://lab-test-bucket/data/raw/"
    import awswrangler

    assert aws_lab.wr is awswrangler


def test_connect_aws_without_credentials_says_so(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ConfigError, match="credentials"):
        utils.connect("aws", region="us-east-1")


@pytest.mark.parametrize("key", ["../escape", "data/../../x", "a/./b"])
def test_s3_uri_refuses_escaping_keys(key, tmp_path):
    lab = utils.connect("local", home=tmp_path)
    with pytest.raises(ValueError, match="refused"):
        lab.s3_uri(key)


def test_a_key_with_a_leading_slash_is_legal_and_stays_in_the_lake(tmp_path):
    """S3 allows an empty first segment (s3://bucket//etc/passwd): kept inside the lab home."""
    lab = utils.connect("local", home=tmp_path)
    uri = lab.s3_uri("/etc/passwd")
    assert uri == f"s3://{lab.bucket}//etc/passwd"
    assert lab.local_path(uri).resolve().is_relative_to(tmp_path.resolve())


def test_require_names_the_notebook_to_run_first(local_lab):
    with pytest.raises(utils.PrerequisiteError, match="Run 01_ingest first"):
        local_lab.require("01_ingest")
    with pytest.raises(ValueError, match="unknown notebook"):
        local_lab.require("42_nothing")


def test_local_wr_says_what_it_lacks(local_lab):
    with pytest.raises(NotImplementedError, match="wr.redshift"):
        local_lab.wr.redshift.connect()
    assert Path(local_lab.home).is_dir()
