"""What the Lambdas run (the Lambda zip holds this and ``image/``).

- ``handler.lambda_handler``: **the processing function's entry** (SQS batch of S3 events → ``workflow``);
- ``api.lambda_handler``: **the API function's entry** (API Gateway HTTP API);
- ``workflow``: one object, head → get → pixelate → put → notify → status, clients passed in;
- ``events``: Lambda events → typed jobs, and the options in an object's metadata;
- ``status``: the status record; ``store``: S3 and SNS I/O; ``aws``: the cached clients;
- ``config``: the settings from the environment; ``telemetry``: logs and metrics.
"""
