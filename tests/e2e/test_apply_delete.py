"""``apply`` and ``delete`` edit the file of ``in/`` that holds the object, namespace included.

An object applied in another namespace gets a file of its own (never the file of its default-namespace
twin, which the next run would then delete with its children); an object that lives in a multi-document file
is replaced or removed there, the file's other documents kept as written.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.e2e.conftest import choreo, get_json

GREETING = """apiVersion: example.com/v1alpha1
kind: Greeting
metadata:
  name: {name}{namespace}
spec:
  name: {text}
"""
TEAM = """# the team, one file
apiVersion: example.com/v1alpha1
kind: Greeting
metadata: {name: carol}  # first
spec: {name: Carol, language: nl}
---
# second document
apiVersion: example.com/v1alpha1
kind: Greeting
metadata: {name: dave}
spec: {name: Dave}
---
apiVersion: example.com/v1alpha1
kind: Greeting
metadata: {name: erin, namespace: lab}
spec: {name: Erin}
"""
CAROL_DOC, DAVE_DOC, ERIN_DOC = TEAM.split("---\n")


def greeting(name: str, text: str, namespace: str | None = None) -> str:
    return GREETING.format(name=name, text=text, namespace=f"\n  namespace: {namespace}" if namespace else "")


def apply(project: Path, document: str, *extra: str):
    return choreo("apply", "-f", "-", "-C", str(project), *extra, stdin=document)


def names(project: Path, resource: str, namespace: str) -> list[str]:
    result = choreo("get", resource, "-C", str(project), "-n", namespace, "-o", "json")
    assert result.code == 0, result.err
    return sorted(item["metadata"]["name"] for item in yaml.safe_load(result.out)["items"])


def in_files(project: Path) -> list[str]:
    return sorted(p.name for p in (project / "in").iterdir())


def test_an_object_in_another_namespace_gets_its_own_file(example) -> None:
    project: Path = example("greeting")
    default_file = project / "in" / "example.com.greeting.alice.yaml"
    before = default_file.read_text()
    assert choreo("run", str(project)).code == 0
    result = apply(project, greeting("alice", "Lab Alice", "lab"))
    assert result.code == 0, result.err
    assert default_file.read_text() == before
    lab_file = project / "in" / "example.com.greeting.lab_alice.yaml"
    assert yaml.safe_load(lab_file.read_text())["metadata"] == {"name": "alice", "namespace": "lab"}
    assert choreo("run", str(project)).code == 0
    assert names(project, "greetings", "default") == ["alice", "bob"]
    assert names(project, "greetings", "lab") == ["alice"]
    assert names(project, "messages", "default") == ["alice-message", "bob-message"]
    again = apply(project, greeting("alice", "Lab Alice, again", "lab"))
    assert again.code == 0, again.err
    assert in_files(project) == sorted(["example.com.greeting.alice.yaml", "example.com.greeting.bob.yaml",
                                        lab_file.name])
    assert yaml.safe_load(lab_file.read_text())["spec"]["name"] == "Lab Alice, again"


def test_namespace_option_places_objects_that_name_none(example) -> None:
    project: Path = example("greeting")
    result = apply(project, greeting("frank", "Frank"), "-n", "lab")
    assert result.code == 0, result.err
    written = yaml.safe_load((project / "in" / "example.com.greeting.lab_frank.yaml").read_text())
    assert written["metadata"] == {"name": "frank", "namespace": "lab"}
    clash = apply(project, greeting("gina", "Gina", "default"), "-n", "lab")
    assert clash.code == 1 and "Traceback" not in clash.err
    assert clash.err.strip() == "error: <stdin>: the object's namespace default does not match -n lab"
    assert not (project / "in" / "example.com.greeting.gina.yaml").exists()


def test_apply_replaces_the_object_in_the_file_that_holds_it(example) -> None:
    project: Path = example("greeting")
    team = project / "in" / "team.yaml"
    team.write_text(TEAM)
    result = apply(project, greeting("dave", "David"))
    assert result.code == 0, result.err
    carol, dave, erin = team.read_text().split("---\n")
    assert (carol, erin) == (CAROL_DOC, ERIN_DOC)
    assert yaml.safe_load(dave)["spec"] == {"name": "David"}
    lab = apply(project, greeting("erin", "Erin B", "lab"))
    assert lab.code == 0, lab.err
    assert team.read_text().split("---\n")[:2] == [CAROL_DOC, dave]
    assert not [name for name in in_files(project) if "dave" in name or "erin" in name]
    assert choreo("run", str(project)).code == 0
    assert get_json(project, "greetings", "dave")["spec"]["name"] == "David"


def test_apply_never_overwrites_a_file_holding_another_object(example) -> None:
    project: Path = example("greeting")
    taken = project / "in" / "example.com.greeting.carol.yaml"
    taken.write_text(greeting("zoe", "Zoe"))
    result = apply(project, greeting("dave", "Dave") + "---\n" + greeting("carol", "Carol"))
    assert (result.code, result.out) == (1, "")  # nothing written, nothing said to be applied
    assert not (project / "in" / "example.com.greeting.dave.yaml").exists()
    assert result.err.strip() == (
        "error: in/example.com.greeting.carol.yaml: holds other objects than Greeting carol in namespace default; "
        "not overwriting it"
    )
    assert taken.read_text() == greeting("zoe", "Zoe")


def test_delete_removes_the_document_from_a_shared_file(example) -> None:
    project: Path = example("greeting")
    team = project / "in" / "team.yaml"
    team.write_text(TEAM)
    assert choreo("run", str(project)).code == 0
    result = choreo("delete", "greeting", "dave", "-C", str(project))
    assert result.code == 0, result.err
    assert result.out == "deleting example.com/v1alpha1 Greeting dave\n"
    assert team.read_text() == CAROL_DOC + "---\n" + ERIN_DOC
    lab = choreo("delete", "greeting", "erin", "-n", "lab", "-C", str(project))
    assert lab.code == 0, lab.err
    assert team.read_text() == CAROL_DOC
    assert choreo("run", str(project)).code == 0
    assert names(project, "greetings", "default") == ["alice", "bob", "carol"]
    assert names(project, "greetings", "lab") == []
    listed = project / "delete.yaml"
    listed.write_text(greeting("carol", "Carol") + "---\n" + greeting("bob", "Bob"))
    both = choreo("delete", "-f", str(listed), "-C", str(project))
    assert both.code == 0, both.err
    assert in_files(project) == ["example.com.greeting.alice.yaml"]


def test_delete_of_an_object_in_no_file_names_it_and_changes_nothing(example) -> None:
    project: Path = example("greeting")
    before = {name: (project / "in" / name).read_text() for name in in_files(project)}
    missing = choreo("delete", "greeting", "alice", "-n", "lab", "-C", str(project))
    assert missing.code == 1 and "Traceback" not in missing.err
    assert missing.err.strip() == "error: in/: no such input file for Greeting alice in namespace lab"
    listed = project.parent / "delete.yaml"
    listed.write_text(greeting("bob", "Bob") + "---\n" + greeting("nobody", "Nobody"))
    partly = choreo("delete", "-f", str(listed), "-C", str(project))
    assert partly.code == 1
    assert partly.err.strip() == "error: in/: no such input file for Greeting nobody in namespace default"
    assert {name: (project / "in" / name).read_text() for name in in_files(project)} == before


def test_delete_by_names_label_or_all_as_kubectl(example) -> None:
    project: Path = example("greeting")
    at = ("-C", str(project))
    (project / "in" / "team.yaml").write_text(TEAM.replace("metadata: {name: dave}",
                                                           "metadata: {name: dave, labels: {team: x}}"))
    several = choreo("delete", "greetings", "alice", "bob", *at)  # several names of one kind
    assert (several.code, several.err) == (0, "")
    assert several.out == "deleting example.com/v1alpha1 Greeting alice\ndeleting example.com/v1alpha1 Greeting bob\n"
    labelled = choreo("delete", "greetings", "-l", "team=x", *at)  # what the files of in/ say the labels are
    assert (labelled.code, labelled.out) == (0, "deleting example.com/v1alpha1 Greeting dave\n"), labelled.err
    none = choreo("delete", "greetings", "-l", "team=y", *at)
    assert (none.code, none.out, none.err) == (0, "", "No resources found\n")
    every = choreo("delete", "greeting", "--all", "-n", "lab", *at)  # in one namespace
    assert (every.code, every.out) == (0, "deleting example.com/v1alpha1 Greeting erin\n"), every.err
    assert (project / "in" / "team.yaml").read_text() == CAROL_DOC
    apply(project, greeting("fay", "Fay", "lab"))
    apply(project, greeting("gus", "Gus", "ops"))
    everywhere = choreo("delete", "greetings", "--all", "-A", *at)
    assert everywhere.out == ("deleting example.com/v1alpha1 Greeting carol\ndeleting example.com/v1alpha1 Greeting "
                              "fay\ndeleting example.com/v1alpha1 Greeting gus\n"), everywhere.err  # by namespace
    assert not (project / "in" / "team.yaml").exists()
    (project / "in" / "team.yaml").write_text(CAROL_DOC)

    before = {name: (project / "in" / name).read_text() for name in in_files(project)}
    for args, message in {
        ("greetings",): "error: delete greetings: name the objects, or give -l SELECTOR or --all",
        ("greetings", "carol", "--all"): "error: delete: give names, or -l/--all, not both",
        ("greetings", "-f", "x.yaml"): "error: delete -f FILE names the objects itself: give no KIND, NAME, -l or "
                                       "--all with it",
        ("greeting/carol", "greeting/zoe"): "error: in/: no such input file for Greeting zoe in namespace default",
        ("greeting/carol", "-A"): "error: delete -A: names are looked up in one namespace (-n NS); -A goes with -l "
                                  "or --all",
    }.items():
        refused = choreo("delete", *args, *at)
        assert (refused.code, refused.out, refused.err.strip()) == (1, "", message), args
    assert {name: (project / "in" / name).read_text() for name in in_files(project)} == before  # nothing removed
    ignored = choreo("delete", "greeting/carol", "greeting/zoe", "--ignore-not-found", *at)
    assert (ignored.code, ignored.out) == (0, "deleting example.com/v1alpha1 Greeting carol\n"), ignored.err
    assert not (project / "in" / "team.yaml").exists()


def test_allocator_kinds_can_be_applied_and_deleted_before_a_first_run(example) -> None:
    project: Path = example("fabric")
    index = next(p for p in (project / "in").iterdir() if ".ipindex." in p.name)
    document = index.read_text()
    index.unlink()
    assert not (project / ".choreo").exists()
    applied = apply(project, document)  # the -r allocators' kinds are known without a stored run
    assert (applied.code, applied.out) == (0, "applying ipam.be.kuid.dev/v1alpha1 IPIndex fabric\n"), applied.err
    gone = choreo("delete", "ipindex", "--all", "-C", str(project))
    assert (gone.code, gone.out) == (0, "deleting ipam.be.kuid.dev/v1alpha1 IPIndex fabric\n"), gone.err


def test_a_dry_run_checks_everything_and_changes_nothing(example) -> None:
    project: Path = example("greeting")
    at = ("-C", str(project))
    before = {name: (project / "in" / name).read_text() for name in in_files(project)}
    tried = apply(project, greeting("carol", "Carol"), "--dry-run")
    assert (tried.code, tried.out) == (0, "applying example.com/v1alpha1 Greeting carol (dry run)\n"), tried.err
    checked = apply(project, greeting("carol", "Carol").replace("name: Carol", "name: 7"), "--dry-run=server")
    assert checked.code == 1 and "spec.name" in checked.err  # validated as the apply would be
    gone = choreo("delete", "greetings", "--all", "--dry-run=server", *at)
    assert gone.out == ("deleting example.com/v1alpha1 Greeting alice (server dry run)\n"
                        "deleting example.com/v1alpha1 Greeting bob (server dry run)\n"), gone.err
    assert choreo("delete", "greeting/nobody", "--dry-run", *at).code == 1  # checked as the delete would be
    assert choreo("run", str(project)).code == 0
    named = choreo("get", "greetings", "-o", "name", *at).out.split()  # `get -o name | xargs delete`, as kubectl
    piped = choreo("delete", *at, "--dry-run", *named)  # a bare --dry-run takes no argument as its value
    assert piped.out == ("deleting example.com/v1alpha1 Greeting alice (dry run)\n"
                         "deleting example.com/v1alpha1 Greeting bob (dry run)\n"), piped.err
    assert {name: (project / "in" / name).read_text() for name in in_files(project)} == before


def test_apply_refuses_an_object_another_project_file_defines(example) -> None:
    """A copy in in/ of a CRD from crds/ or of a reconciler would make every later run fail (duplicate)."""
    project = example("greeting")
    crd = (project / "crds" / "example.com_messages.yaml").read_text()
    refused = apply(project, crd)
    assert refused.code == 1
    assert refused.err.strip() == ("error: <stdin>: CustomResourceDefinition messages.example.com comes from "
                                   "crds/example.com_messages.yaml: edit that file instead")
    assert choreo("run", str(project)).code == 0  # stores the Reconciler objects
    reconciler = choreo("get", "reconcilers", "greeting", "-C", str(project), "-o", "yaml")
    refused = apply(project, reconciler.out)
    assert refused.code == 1 and "Reconciler greeting comes from reconcilers/greeting/" in refused.err
    assert in_files(project) == ["example.com.greeting.alice.yaml", "example.com.greeting.bob.yaml"]
    assert choreo("run", str(project)).code == 0


def test_apply_keeps_the_byte_order_mark_and_crlf_of_the_file_it_edits(example) -> None:
    """Windows-made files keep their form: only the applied document changes."""
    project = example("greeting")
    shared = project / "in" / "team.yaml"
    first, second = greeting("carol", "Carol"), greeting("dave", "Dave")
    shared.write_bytes(b"\xef\xbb\xbf" + (first + "---\n# keep me\n" + second).replace("\n", "\r\n").encode())
    assert apply(project, greeting("carol", "Caroline")).code == 0
    raw = shared.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\n") == raw.count(b"\r\n")
    assert raw.endswith(("---\n# keep me\n" + second).replace("\n", "\r\n").encode())
    assert b"name: Caroline\r\n" in raw


def test_a_file_linked_from_elsewhere_in_the_project_is_not_changed(example) -> None:
    """in/ holds a link to a file outside in/ (inside the project): delete refuses before it says anything,
    naming in/, not 'outside the project folder'."""
    project = example("greeting")
    (project / "shared").mkdir()
    bob = project / "in" / "example.com.greeting.bob.yaml"
    bob.rename(project / "shared" / "bob.yaml")
    bob.symlink_to(Path("..") / "shared" / "bob.yaml")
    refused = choreo("delete", "greeting", "bob", "-C", str(project))
    assert (refused.code, refused.out) == (1, "")
    assert refused.err.strip() == ("error: in/example.com.greeting.bob.yaml: leads outside in/: choreo changes only "
                                   "files that are in it, a link's target too")
    assert (project / "shared" / "bob.yaml").read_text().count("name: bob") == 1
