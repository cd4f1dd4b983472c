# ruff: noqa
"""What vulture cannot see is used (read by `vulture smoke vulture_whitelist.py`).

Each name below is used from outside Python's view of smoke/: by a framework, by name in a
string, by a caller outside the package, or as data. Add a name only with its reason.
smoke/reports/summary/templates/ is excluded on the command line instead: it is Jinja's
generated code (imports and variables the compiler always writes), not ours to trim."""

_: object

# PEP 562 module hooks: Python calls them (smoke/__init__.py's lazy public API).
_.__getattr__
_.__dir__
# Sinks named by module and class in a string (smoke.ci.publish SINKS and Extra).
_.Incidents
_.Notifications
_.Push
# CI platforms, loaded by name from smoke.ci.PLATFORMS.
_.Azure
_.Bitbucket
_.Buildkite
_.CircleCI
_.GitLab
_.Jenkins
_.Local
# The public choices of --ci, read by the CLI's docs and tests.
_.CHOICES
# Public names of the library (documented aliases; tests and callers import them).
_.GitHubConsole
_.ConsoleStream
# io.TextIOBase protocol: print() and logging ask a stream whether it is writable.
_.writable
# requests.Session.trust_env, set to keep proxies and CA bundles from the environment out.
_.trust_env
# requests.Session.get_redirect_target, asked by resolve_redirects (smoke.bounded: None).
_.get_redirect_target
# urllib3's connection-pool hooks (class attributes it reads).
_.ConnectionCls
_.pool_classes_by_scheme
# Dataclass fields serialised into report.json (dataclasses.asdict), read by consumers.
_.expected_category
_.wait_s
# Settings fields and properties reached through getattr (the registry's "has_parser",
# the report writers' names) and the list of derived fields the schema test reads.
_.DERIVED
_.report_dotenv
_.report_prometheus
_.pushgateway
_.has_parser
# http.server / socketserver hooks and knobs, read by the standard library.
_.protocol_version
_.server_version
_.sys_version
_.disable_nagle_algorithm
_.do_HEAD
_.do_POST
_.daemon_threads
_.block_on_close
_.allow_reuse_address
_.request_queue_size
_.close_connection
# Jinja's sandbox reads it from the environment's class (which binary operators it hands to
# call_binop): smoke/reports/summary/sandbox.py's bounds on *, + and **.
_.intercepted_binops
