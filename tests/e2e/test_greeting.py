"""greeting end to end: a reconciler owning a child Message, through edits and removals."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import choreo, get_json


def _messages(project: Path) -> dict[str, dict]:
    return {m["metadata"]["name"]: m for m in get_json(project, "messages")["items"]}


def test_first_run_creates_owned_children(example) -> None:
    project: Path = example("greeting")
    result = choreo("run", str(project))
    assert result.code == 0, result.out + result.err
    assert result.out.splitlines()[3].split() == ["greeting", "2", "2", "0", "0"]
    messages = _messages(project)
    assert messages["alice-message"]["spec"]["text"] == "Bonjour, Alice!"
    assert messages["bob-message"]["spec"]["text"] == "Hello, Bob!"  # language defaulted to en
    alice = get_json(project, "greetings", "alice")
    owner = messages["alice-message"]["metadata"]["ownerReferences"]
    assert owner == [{"apiVersion": "example.com/v1alpha1", "kind": "Greeting", "name": "alice",
                      "uid": alice["metadata"]["uid"], "controller": True}]
    assert alice["status"]["messageRef"] == "alice-message"


def test_editing_the_input_updates_the_child_and_bumps_generation(example) -> None:
    project: Path = example("greeting")
    assert choreo("run", str(project)).code == 0
    before = get_json(project, "greetings", "alice")
    source = project / "in" / "example.com.greeting.alice.yaml"
    source.write_text(source.read_text().replace("language: fr", "language: de"))
    assert choreo("run", str(project)).code == 0
    after = get_json(project, "greetings", "alice")
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert _messages(project)["alice-message"]["spec"]["text"] == "Guten Tag, Alice!"


def test_removing_the_input_deletes_object_and_child(example) -> None:
    project: Path = example("greeting")
    assert choreo("run", str(project)).code == 0
    (project / "in" / "example.com.greeting.bob.yaml").unlink()
    assert choreo("run", str(project)).code == 0
    names = [g["metadata"]["name"] for g in get_json(project, "greetings")["items"]]
    assert names == ["alice"]
    assert sorted(_messages(project)) == ["alice-message"]


def test_second_run_of_unchanged_project_changes_nothing(example) -> None:
    project: Path = example("greeting")
    assert choreo("run", str(project)).code == 0
    first = {kind: get_json(project, kind) for kind in ("greetings", "messages")}
    assert choreo("run", str(project)).code == 0
    second = {kind: get_json(project, kind) for kind in ("greetings", "messages")}
    assert first == second  # same resourceVersions, timestamps, everything


def test_removing_a_crd_removes_its_inputs_and_what_they_owned(example) -> None:
    project: Path = example("greeting")
    assert choreo("run", str(project)).code == 0
    (project / "crds" / "example.com_greetings.yaml").unlink()
    for source in (project / "in").iterdir():
        source.unlink()
    (project / "reconcilers" / "greeting" / "config.yaml").unlink()
    (project / "reconcilers" / "greeting" / "reconciler.star").unlink()
    result = choreo("run", str(project))
    assert result.code == 0, result.out + result.err
    assert get_json(project, "messages")["items"] == []
    assert choreo("get", "greetings", "-C", str(project)).code == 1  # the kind itself is gone


def test_an_input_whose_owners_do_not_exist_is_collected_with_a_warning(example) -> None:
    """As Kubernetes' garbage collector would, but not silently: the file and field are named."""
    project: Path = example("greeting")
    alice = project / "in" / "example.com.greeting.alice.yaml"
    alice.write_text(alice.read_text().replace("metadata:\n", "metadata:\n  ownerReferences: [{apiVersion: "
                                               "example.com/v1alpha1, kind: Greeting, name: bob, uid: '123'}]\n", 1))
    result = choreo("run", str(project))  # told unasked, as kubectl tells an API server's warnings
    assert result.code == 0
    assert ("warning: in/example.com.greeting.alice.yaml: Greeting alice was deleted as garbage: no owner its "
            "metadata.ownerReferences names exists") in result.err
    assert [g["metadata"]["name"] for g in get_json(project, "greetings")["items"]] == ["bob"]


def test_removing_a_namespace_file_keeps_the_objects_the_folder_still_holds_in_it(example) -> None:
    """Deleting the Namespace would delete what is in it (the finalizer-held Greeting at the end of the run,
    back at the next: two results for one project); it stays while the folder holds objects in it."""
    project: Path = example("greeting")
    (project / "in" / "ns-lab.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: lab}\n")
    (project / "in" / "zed.yaml").write_text(
        "apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata: {name: zed, namespace: lab}\nspec: {name: Zed}\n")
    assert choreo("run", str(project)).code == 0
    (project / "in" / "ns-lab.yaml").unlink()

    def lab() -> tuple[list[str], list[str]]:
        greetings = choreo("get", "greetings", "-n", "lab", "-C", str(project), "-o", "name").out.split()
        namespaces = choreo("get", "namespaces", "-C", str(project), "-o", "name").out.split()
        return greetings, namespaces

    for _ in range(2):  # the same result on every run
        assert choreo("run", str(project)).code == 0
        assert lab() == (["greeting.example.com/zed"], ["namespace/lab"])
    (project / "in" / "zed.yaml").unlink()
    assert choreo("run", str(project)).code == 0
    assert lab() == ([], [])
