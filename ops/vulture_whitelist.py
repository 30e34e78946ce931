"""Names under src/ that vulture reports as unused but that are used through reflection.

Check (report lines under src/ only; tests count as users of the test hooks):
    uv run --with vulture vulture src/deephaven_mcp tests ops/vulture_whitelist.py \
        --exclude tests/ts_client --min-confidence 60 | grep '^src/'
Only names that are called or read by a library, the interpreter or a protocol belong here.
"""
# ruff: noqa
# mypy: ignore-errors

# PEP 562: module-level attribute access and dir() of lazy packages.
__getattr__  # __init__.py, enterprise/, formatting/, mcp_docs_server/
__dir__  # __init__.py

# Console entry points ([project.scripts] in pyproject.toml).
systems_server  # _console.py
docs_server  # _console.py

# pydantic: model configuration, field/model validators and serializers (registered by their
# decorators), and the fields of the answer models (read by model_dump and the output schemas).
model_config
_._lower_session_type  # config/models.py
_._check  # config/models.py
_._title_language  # config/models.py
_._dynamic_auth  # config/models.py
_._url  # config/models.py
_._env_name  # config/models.py
_._hosts  # config/models.py
_._origins  # config/models.py
_._absolute  # config/models.py
_._absolute_roots  # config/models.py
_._time  # enterprise/schedule.py
_._zone  # enterprise/schedule.py
_._fits_its_kind  # enterprise/schedule.py
_._session_name  # launchers/models.py
_._launch_method  # launchers/models.py
_._auth_type  # launchers/models.py
_._auth_token  # launchers/models.py
_._heap_size_gb  # launchers/models.py
_._extra_jvm_args  # launchers/models.py
_._environment_vars  # launchers/models.py
_._plain_environment  # launchers/models.py (field_serializer)
_._python_venv_path  # launchers/models.py
_._init_script  # launchers/models.py
_._programming_language  # launchers/models.py
_._docker_image  # launchers/models.py
_._positive_number  # launchers/models.py
_._docker_volumes  # launchers/models.py
_._startup_retries  # launchers/models.py
_._host  # launchers/models.py
_._check_docker  # launchers/models.py
_._resolve_exposure  # mcp_docs_server/_settings.py
_._column_when_needed  # model/analysis.py
_._bin_form  # model/analysis.py
_._not_nested  # model/shaping.py
_._value_fits_op  # model/shaping.py
_.stdout_truncated  # systems/results.py ScriptRun
_.stderr_truncated  # systems/results.py ScriptRun
_.meta_columns  # systems/results.py TableSchemaEntry
_.isError  # systems/results.py TableSchemaEntry
_.package  # systems/results.py PipPackage
_.connection_url  # systems/results.py
_.connection_url_with_auth  # systems/results.py CommunitySessionCreated
_.note  # systems/results.py CommunitySessionCreated
_.restarted  # systems/results.py
_.pq  # systems/results.py PqBatchEntry
_.null_count  # systems/results.py ColumnSummary
_.nan_count  # systems/results.py ColumnSummary
_.distinct_count  # systems/results.py ColumnSummary
_.distinct_count_capped  # systems/results.py ColumnSummary
_.top_values  # systems/results.py ColumnSummary

# pydantic-settings hooks: the sources classmethod (its parameters are the hook's signature)
# and the environment source's loader.
_.settings_customise_sources  # config/env.py
env_settings  # config/env.py
dotenv_settings  # config/env.py
file_secret_settings  # config/env.py
_._load_env_vars  # config/env.py

# fastmcp: middleware hooks, the token verifier, routes registered by @custom_route.
_.on_call_tool  # mcp_systems_server/_audit.py, serving/envelope.py
_.verify_token  # serving/http_security.py
health  # mcp_systems_server/_server.py, mcp_docs_server/_server.py

# Protocol signatures: the MCP completion handler and __aexit__.
ref  # mcp_systems_server/_completions.py
exc_type  # systems/service.py
traceback  # systems/service.py

# Attributes set for a library to read: LogRecord (the formatter's %(asctime)s), tarfile
# members, Core+ protobuf messages and the Core+ session object.
_.asctime  # runtime/logging.py
_.mtime  # launchers/docker_spec.py
_.configurationType  # enterprise/adapter.py
_.jvmProfile  # enterprise/adapter.py
_._owned_pq_serial  # enterprise/adapter.py

# Fields read by name: settings mapped onto Timeouts and provider settings by field name,
# statistics and query fields copied into answer models (dataclasses.asdict, model fields).
_.column_count  # clients/table_summary.py
_.status_details  # enterprise/backend.py
_.inkeep_api_key  # mcp_docs_server/_settings.py
_.inkeep_base_url  # mcp_docs_server/_settings.py
_.inkeep_model  # mcp_docs_server/_settings.py
_.openai_api_key  # mcp_docs_server/_settings.py
_.openai_base_url  # mcp_docs_server/_settings.py
_.openai_model  # mcp_docs_server/_settings.py
_.total_rows  # model/table.py
_.status_details  # systems/results.py
_.column_count  # systems/results.py
_.total_rows  # systems/results.py
_.probe_timeout  # systems/settings.py
_.metadata_timeout  # systems/settings.py
_.data_timeout  # systems/settings.py
_.script_timeout  # systems/settings.py
_.close_timeout  # systems/settings.py
_.session_busy_timeout  # systems/settings.py
