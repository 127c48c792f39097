"""The pytest plugin: registers the fixtures of postgres.py, inference.py and service.py.

A suite that uses `channel` or `stub` provides `service_under_test` (session scope): a
service.ServiceUnderTest naming its started server's port and its stub class. A suite may
override `inference_settings` (session scope) for the in-process inference server.
"""
pytest_plugins = ["tianshu_testing.postgres", "tianshu_testing.inference", "tianshu_testing.service"]
