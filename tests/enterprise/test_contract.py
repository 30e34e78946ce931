"""Contract with the installed deephaven-coreplus-client: an API drift fails here, offline.

Checks that every class, method, parameter and protobuf field the adapter declares exists in
the installed client, and (by reading adapter.py's syntax tree) that the adapter uses nothing
it did not declare.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest

from deephaven_mcp.enterprise import _coreplus_api as api
from deephaven_mcp.enterprise import adapter
from deephaven_mcp.enterprise.backend import PqChanges

ADAPTER_SOURCE = Path(adapter.__file__).read_text(encoding="utf-8")


def _resolve(module: str, path: str) -> Any:
    target: Any = importlib.import_module(module)
    for part in path.split("."):
        if hasattr(target, part):
            target = getattr(target, part)
        elif part in getattr(target, "__annotations__", {}):
            return None  # an instance attribute declared on the class
        else:
            raise AssertionError(f"{module}.{path}: '{part}' does not exist")
    return target


@pytest.mark.parametrize("member", api.USED_API, ids=lambda m: m.path)
def test_used_api_exists_with_parameters(member: api.ApiMember) -> None:
    target = _resolve(member.module, member.path)
    if not member.params:
        return
    assert callable(target), f"{member.path} is not callable"
    parameters = inspect.signature(target).parameters
    missing = [name for name in member.params if name not in parameters]
    assert not missing, f"{member.path} lost parameters {missing}; has {list(parameters)}"


@pytest.mark.parametrize("message", api.USED_PROTO_FIELDS, ids=lambda m: m.message)
def test_used_proto_fields_exist(message: api.ProtoFields) -> None:
    cls = getattr(importlib.import_module(message.module), message.message)
    names = set(cls.DESCRIPTOR.fields_by_name)
    missing = [name for name in message.fields if name not in names]
    assert not missing, f"{message.message} lost fields {missing}"
    for method in api.PROTO_MESSAGE_METHODS:
        assert callable(getattr(cls, method)), method


def test_known_pq_states_exist_in_the_status_enum() -> None:
    enum = importlib.import_module(api.PQ_PROTO_MODULE).PersistentQueryStatusEnum
    for state in api.KNOWN_PQ_STATES:
        assert api.PQ_STATE_PREFIX + state in enum.keys()  # noqa: SIM118 (EnumTypeWrapper is not iterable)


def test_change_mappings_match_pq_changes_and_the_config_message() -> None:
    config = importlib.import_module(api.PQ_PROTO_MODULE).PersistentQueryConfigMessage
    proto_fields = set(config.DESCRIPTOR.fields_by_name)
    declared = next(m for m in api.USED_PROTO_FIELDS if m.message == "PersistentQueryConfigMessage")
    change_fields = set(PqChanges.__dataclass_fields__)
    # handled by dedicated code (pairs to alternating entries, JSON fields, enum names)
    mapped = {
        "auto_delete_timeout",
        "restart_users",
        "extra_environment_vars",
        "python_virtual_environment",
        "schedule",  # written by coreplus's scheduling generators
        "init_timeout_seconds",  # to timeoutNanos
        "script_path",  # read on the MCP server into script_body before the controller
    }
    for attribute, field_name, *_ in (
        *api.CHANGE_SCALAR_FIELDS,
        *api.CHANGE_REPEATED_FIELDS,
    ):
        assert attribute in change_fields
        assert field_name in proto_fields
        assert field_name in declared.fields
        mapped.add(attribute)
    assert mapped == change_fields, f"PqChanges fields never applied: {change_fields - mapped}"


def test_temporary_config_parameters_match_connect_to_new_worker() -> None:
    """connect_to_new_worker forwards these to make_temporary_config; both must accept them."""
    session_manager = importlib.import_module(api.SESSION_MANAGER_MODULE)
    controller = importlib.import_module(api.CONTROLLER_MODULE)
    worker = inspect.signature(session_manager.SessionManager.connect_to_new_worker).parameters
    config = inspect.signature(controller.ControllerClient.make_temporary_config).parameters
    for name in (
        "server",
        "extra_jvm_args",
        "extra_environment_vars",
        "engine",
        "auto_delete_timeout",
        "admin_groups",
        "viewer_groups",
    ):
        assert name in worker and name in config


def _declared_members() -> dict[tuple[str, str], set[str]]:
    """(module, class) -> attribute names declared for it ("" class = the module)."""
    declared: dict[tuple[str, str], set[str]] = {}
    for member in api.USED_API:
        owner, _, attribute = member.path.rpartition(".")
        if owner:
            declared.setdefault((member.module, owner), set()).add(attribute)
        declared.setdefault((member.module, ""), set()).add(member.path.split(".")[0])
    for message in api.USED_PROTO_FIELDS:
        key = (message.module, message.message)
        declared.setdefault(key, set()).update(message.fields, api.PROTO_MESSAGE_METHODS)
    return declared


def _attribute_uses(tree: ast.AST) -> list[tuple[str, str, int]]:
    uses = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in api.HANDLE_TYPES
        ):
            uses.append((node.value.id, node.attr, node.lineno))
    return uses


def test_adapter_uses_only_declared_names() -> None:
    declared = _declared_members()
    tree = ast.parse(ADAPTER_SOURCE)
    uses = _attribute_uses(tree)
    assert len(uses) > 40, "the naming convention is not being followed any more"
    undeclared = [
        f"line {line}: {name}.{attribute}"
        for name, attribute, line in uses
        if attribute not in declared.get(api.HANDLE_TYPES[name], set())
    ]
    assert not undeclared, "adapter.py uses undeclared coreplus names:\n" + "\n".join(undeclared)


def test_adapter_keyword_arguments_are_declared() -> None:
    """Keyword arguments passed to coreplus methods must be in the declared parameter lists."""
    params: dict[str, set[str]] = {}
    for member in api.USED_API:
        params.setdefault(member.path.rpartition(".")[2], set()).update(member.params)
    checked = 0
    for node in ast.walk(ast.parse(ADAPTER_SOURCE)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver = node.func.value
        if not (isinstance(receiver, ast.Name) and receiver.id in api.HANDLE_TYPES):
            continue
        for keyword in node.keywords:
            if keyword.arg is not None:
                checked += 1
                assert keyword.arg in params.get(node.func.attr, set()), (
                    f"line {node.lineno}: {receiver.id}.{node.func.attr}({keyword.arg}=...)"
                )
    assert checked >= 15


def _imports_coreplus(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        if any(name.split(".")[0] == "deephaven_enterprise" for name in names):
            return True
    return False


def test_only_the_adapter_imports_coreplus() -> None:
    package = Path(adapter.__file__).parent
    offenders = [
        path.name
        for path in package.glob("*.py")
        if path.name != "adapter.py" and _imports_coreplus(path.read_text(encoding="utf-8"))
    ]
    assert not offenders
    assert not _imports_coreplus(ADAPTER_SOURCE), "adapter.py must import coreplus lazily"
    assert _imports_coreplus("from deephaven_enterprise.client import auth")


def test_the_usage_check_catches_an_undeclared_name() -> None:
    declared = _declared_members()
    snippet = "controller.map_and_version()\ncontroller.fetch_scripts()\ncfg.notAField = 1\n"
    flagged = [
        attribute
        for name, attribute, _ in _attribute_uses(ast.parse(snippet))
        if attribute not in declared.get(api.HANDLE_TYPES[name], set())
    ]
    assert sorted(flagged) == ["fetch_scripts", "notAField"]


def test_handle_types_name_real_classes() -> None:
    for module, cls in api.HANDLE_TYPES.values():
        target = importlib.import_module(module)
        if cls:
            assert inspect.isclass(getattr(target, cls))
