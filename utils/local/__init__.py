"""The embedded `local` backend: stand-ins for S3, Glue, Athena, Autopilot and endpoints."""
