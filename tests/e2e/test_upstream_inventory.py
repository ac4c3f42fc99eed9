"""A look-alike of the Nephio ``nf`` example: the network inventory comes from an upstream ref.

The upstream repository (made here, ``file://``) holds an inventory project: Region and Cluster kinds, the
regions and clusters in its ``in/``, and a reconciler committed only as the ``in/`` Reconciler object
``dev parse`` writes (the flat layout of the published examples). The project refers to it with a ref
without ``type`` pinned by commit hash, as the example does, and its own ``nf`` reconciler deploys a
network function on every cluster it finds. Re-pinning to a commit with other clusters moves the
deployments and removes what only the old commit brought.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.e2e.conftest import choreo, get_json
from tests.loader import build
from tests.loader.test_upstream import commit, ref_yaml

ORIGIN = "api.choreo.kform.dev/origin"


def crd(group: str, kind: str, spec: dict, status: dict | None = None) -> str:
    plural = kind.lower() + "s"
    properties: dict = {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                        "metadata": {"type": "object"}, "spec": {"type": "object", "properties": spec}}
    version: dict = {"name": "v1alpha1", "served": True, "storage": True,
                     "schema": {"openAPIV3Schema": {"type": "object", "properties": properties}}}
    if status is not None:
        properties["status"] = {"type": "object", "properties": status}
        version["subresources"] = {"status": {}}
    return yaml.safe_dump({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "scope": "Namespaced", "versions": [version],
                 "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower()}},
    })


def objects(api_version: str, kind: str, specs: dict[str, dict]) -> str:
    docs = [{"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": "default"},
             "spec": spec} for name, spec in specs.items()]
    return yaml.safe_dump_all(docs)


STRING = {"type": "string"}
CLUSTER_STATUS = """def reconcile(self):
    self["status"] = {"ready": True}
    return reconcile_result(self, False, 0, "", False)
"""
CLUSTER_RECONCILER = yaml.safe_dump({
    "apiVersion": "choreo.kform.dev/v1alpha1", "kind": "Reconciler",
    "metadata": {"name": "infra.example.com.clusters.status", "annotations": {ORIGIN: '{"kind":"File"}'}},
    "spec": {"type": "starlark", "code": {"reconciler.star": CLUSTER_STATUS},
             "for": {"group": "infra.example.com", "version": "v1alpha1", "kind": "Cluster", "selector": {}}},
})
INVENTORY = {
    "inventory/crds/infra.example.com_regions.yaml": crd("infra.example.com", "Region", {"location": STRING}),
    "inventory/crds/infra.example.com_clusters.yaml": crd(
        "infra.example.com", "Cluster", {"region": STRING}, {"ready": {"type": "boolean"}}),
    "inventory/in/regions.yaml": objects("infra.example.com/v1alpha1", "Region",
                                         {"us-east": {"location": "Virginia"}, "eu-west": {"location": "Dublin"}}),
    "inventory/in/clusters.yaml": objects("infra.example.com/v1alpha1", "Cluster",
                                          {"edge1": {"region": "us-east"}, "edge2": {"region": "eu-west"}}),
    "inventory/in/choreo.kform.dev.reconciler.infra.example.com.clusters.status.yaml": CLUSTER_RECONCILER,
}
NF_STAR = """def reconcile(self):
    clusters = client_list(get_resource("infra.example.com/v1alpha1", "Cluster")["resource"], {})
    if clusters["error"]:
        return reconcile_result(self, True, 0, clusters["error"], False)
    for cluster in clusters["resource"]["items"]:
        client_create({
            "apiVersion": "nf.example.com/v1alpha1",
            "kind": "NFDeployment",
            "metadata": {"name": self["metadata"]["name"] + "-" + cluster["metadata"]["name"],
                         "namespace": self["metadata"]["namespace"]},
            "spec": {"cluster": cluster["metadata"]["name"], "region": cluster["spec"]["region"]},
        })
    return reconcile_result(self, False, 0, "", False)
"""
NF_CONFIG = yaml.safe_dump({
    "apiVersion": "choreo.kform.dev/v1alpha1", "kind": "Reconciler", "metadata": {"name": "nf"},
    "spec": {
        "for": {"group": "nf.example.com", "version": "v1alpha1", "kind": "NetworkFunction", "selector": {}},
        "owns": [{"group": "nf.example.com", "version": "v1alpha1", "kind": "NFDeployment"}],
        "watches": [{"group": "infra.example.com", "version": "v1alpha1", "kind": "Cluster", "selector": {}}],
    },
})


def nf_project(root: Path, url: str, sha: str) -> Path:
    return build(root, {
        "crds/nf.example.com_networkfunctions.yaml": crd("nf.example.com", "NetworkFunction", {"vendor": STRING}),
        "crds/nf.example.com_nfdeployments.yaml": crd("nf.example.com", "NFDeployment",
                                                      {"cluster": STRING, "region": STRING}),
        "reconcilers/nf/config.yaml": NF_CONFIG,
        "reconcilers/nf/reconciler.star": NF_STAR,
        "in/upf.yaml": objects("nf.example.com/v1alpha1", "NetworkFunction", {"upf": {"vendor": "free5gc"}}),
        "refs/inventory.yaml": ref_yaml(url, sha, pin="hash", directory="inventory", metadata_name="inventory"),
    })


def run_ok(project: Path) -> list[str]:
    result = choreo("run", str(project))
    assert result.code == 0, result.out + result.err
    return result.out.splitlines()


def names(project: Path, resource: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in get_json(project, resource)["items"]}


def test_the_inventory_comes_from_the_upstream_ref_and_follows_its_pin(tmp_path: Path) -> None:
    repo = tmp_path / "inventory-repo"
    first = commit(repo, INVENTORY)
    project = nf_project(tmp_path / "nf", repo.as_uri(), first)
    summary = run_ok(project)
    assert [line.split() for line in summary[3:]] == [
        ["infra.example.com.clusters.status", "2", "2", "0", "0"], ["nf", "1", "1", "0", "0"]
    ]
    origin = json.dumps({"kind": "Upstream", "url": repo.as_uri(), "directory": "inventory", "ref": first},
                        separators=(",", ":"))
    regions = names(project, "regions")
    assert {name: o["metadata"]["annotations"][ORIGIN] for name, o in regions.items()} == {
        "eu-west": origin, "us-east": origin}
    assert {name: o["status"] for name, o in names(project, "clusters").items()} == {
        "edge1": {"ready": True}, "edge2": {"ready": True}}
    assert {name: o["spec"] for name, o in names(project, "nfdeployments").items()} == {
        "upf-edge1": {"cluster": "edge1", "region": "us-east"}, "upf-edge2": {"cluster": "edge2", "region": "eu-west"}}
    deps = choreo("run", "deps", "-i", str(project)).out.splitlines()
    assert "Reconciler.choreo.kform.dev/v1alpha1 infra.example.com.clusters.status" in deps
    assert "Reconciler.choreo.kform.dev/v1alpha1 nf" in deps

    clusters = objects("infra.example.com/v1alpha1", "Cluster",
                       {"edge1": {"region": "us-east"}, "edge3": {"region": "us-east"}})
    (repo / "inventory" / "in" / "regions.yaml").write_text(
        objects("infra.example.com/v1alpha1", "Region", {"us-east": {"location": "Virginia"}}))
    second = commit(repo, {"inventory/in/clusters.yaml": clusters})
    build(project, {"refs/inventory.yaml": ref_yaml(repo.as_uri(), second, pin="hash", directory="inventory",
                                                    metadata_name="inventory")})
    run_ok(project)
    assert sorted(names(project, "regions")) == ["us-east"]
    assert sorted(names(project, "clusters")) == ["edge1", "edge3"]
    assert sorted(names(project, "nfdeployments")) == ["upf-edge1", "upf-edge3"]
    reconciler = get_json(project, "reconcilers", "infra.example.com.clusters.status")
    assert json.loads(reconciler["metadata"]["annotations"][ORIGIN])["ref"] == second
