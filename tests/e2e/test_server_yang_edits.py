"""``choreo server start DIR -r -s`` as a real process follows the YANG module files of its project: an edit
that makes a device's config invalid takes its final Config and files away, editing it back brings them back
byte for byte, and a module that does not parse is reported, naming its file, while the server keeps serving."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.server.harness import Http, ServerProcess, copy_example, idle, wait_for
from yang.profiles import standard_module_dirs

CONFIGS = "/apis/config.sdcio.dev/v1alpha1/namespaces/default/configs"
PROFILE = """apiVersion: inv.sdcio.dev/v1alpha1
kind: Schema
metadata: {name: ietf-1.0.0, namespace: default}
spec:
  provider: ietf.choreo.dev
  version: 1.0.0
  repositories:
  - path: schemas/models
    schema: {models: [ietf-ip.yang]}
  modules: [ietf-interfaces, iana-if-type]
"""
MTU = 'range "68..max";'  # of the ipv4 mtu the fabric's interfaces set to 9000


def fabric_with_its_own_module(tmp_path: Path) -> Path:
    """The fabric example, with ietf-ip taken from a file in its own ``schemas/`` (users edit such files)."""
    project = copy_example("fabric", tmp_path)
    (project / "schemas" / "models").mkdir()
    shutil.copy(standard_module_dirs()[0] / "ietf-ip.yang", project / "schemas" / "models" / "ietf-ip.yang")
    (project / "schemas" / "ietf.yaml").write_text(PROFILE)
    return project


def schema_errors(http: Http) -> list[str] | None:
    """The errors of the newest run's schema stage (None: no run with the stage yet)."""
    code, body = http.call("GET", "/choreo/v1/run/result")
    stages: list[dict[str, Any]] = body.get("record", {}).get("stages", []) if code == 200 else []
    return next((stage["errors"] for stage in stages if stage["name"] == "schema"), None)


def test_the_server_revalidates_after_a_module_edit_and_recovers_from_a_broken_one(tmp_path: Path) -> None:
    project = fabric_with_its_own_module(tmp_path)
    module, leaf1 = project / "schemas" / "models" / "ietf-ip.yang", project / "out" / "leaf1.json"
    server = ServerProcess(str(project), "-r", "-s", "--address", "127.0.0.1:0")
    try:
        http = Http(server.wait_ready())
        wait_for(lambda: idle(http) and schema_errors(http) == [] and leaf1.exists(), "the first valid pass")
        written = leaf1.read_bytes()
        original = module.read_text()

        module.write_text(original.replace(MTU, 'range "68..1500";', 1))
        errors = wait_for(lambda: schema_errors(http), "the pass after the edit")
        assert len(errors) == 8 and all('value "9000" is out of the allowed range' in e for e in errors)
        assert {e.split(": ")[0] for e in errors} == {"leaf1", "leaf2", "spine1", "spine2"}
        assert not leaf1.exists() and http.call("GET", f"{CONFIGS}/leaf1")[0] == 404

        module.write_text(original)
        wait_for(lambda: schema_errors(http) == [] and leaf1.exists(), "the pass after the edit back")
        assert leaf1.read_bytes() == written
        assert http.call("GET", f"{CONFIGS}/leaf1")[0] == 200

        module.write_text(original.replace(MTU, 'range "68..max"', 1))  # a missing ";"
        errors = wait_for(lambda: schema_errors(http), "the pass after the module broke")
        [error] = errors  # one error for the one broken file, naming the devices it stops
        assert error.startswith("leaf1, leaf2, spine1, and 1 more: ") and f"does not compile: {module}: " in error
        assert http.call("GET", "/choreo/v1/status")[0] == 200 and server.proc.poll() is None

        module.write_text(original)
        wait_for(lambda: schema_errors(http) == [] and leaf1.exists(), "the pass after the module was fixed")
        assert leaf1.read_bytes() == written
    finally:
        server.stop()
