"""The test fixtures every Python service's suite shares, as one pytest plugin. A suite's
conftest.py registers it with `pytest_plugins = ["tianshu_testing.plugin"]` and keeps only
what is its own (see plugin.py for what a suite provides and may override)."""
