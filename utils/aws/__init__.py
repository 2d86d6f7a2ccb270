"""The aws backend: thin adapters over boto3 / awswrangler / the sagemaker SDK."""
