"""S3 on the local backend: objects are files under ``<lab home>/s3/<bucket>/<key>``.

- :class:`~utils.local.s3.service.S3Service`: the ``s3`` client's calls (boto3's shapes), what
  the sagemaker SDK and the course call through ``lab.client("s3")`` and ``sess.upload_data``;
- :class:`~utils.local.s3.wrangler.LocalS3`: ``wr.s3``, awswrangler's S3 calls.

Both read and write the same lake (:mod:`utils.local.lake`).
"""

from utils.local.s3.wrangler import LocalS3

__all__ = ["LocalS3"]
