"""The shared fixtures (tianshu_testing): a real embedded PostgreSQL for the session, and
a fresh empty database (database_url) for each test that asks for one. pytester runs the
plugin's own tests in a pytest of their own."""
pytest_plugins = ["tianshu_testing.plugin", "pytester"]
