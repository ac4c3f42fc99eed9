"""The malformed-input corpus: one ``Case`` per mistake, grouped by the class of input it breaks.

Each case starts from a good, already-run copy of an example (``greeting`` unless said otherwise) and
must end in the expected exit code with one short line matching ``message``, in bounded time, with the
stored objects unchanged (``harness``). Messages name the file (or resource) and, where there is one,
the field.
"""

from __future__ import annotations

from tests.corpus.harness import EXAMPLES, Case

# --- the greeting example's files ---------------------------------------------------------------------
IN = "in/example.com.greeting.alice.yaml"
CRD = "crds/example.com_greetings.yaml"
MSG_CRD = "crds/example.com_messages.yaml"
LIB = "crds/example.com_greetings.star"
CFG = "reconcilers/greeting/config.yaml"
CODE = "reconcilers/greeting/reconciler.star"
HEAD = "apiVersion: example.com/v1alpha1\nkind: Greeting\n"
ALICE = HEAD + "metadata:\n  name: alice\n  namespace: default\nspec:\n  name: Alice\n  language: fr\n"


def bad_input(id: str, text: str | bytes, message: str, **kw: object) -> Case:
    """A new input file ``in/bad.yaml`` holding ``text``."""
    return Case(id, files={"in/bad.yaml": text}, message=message, **kw)  # type: ignore[arg-type]


def greeting(id: str, spec: str, message: str, metadata: str = "  name: carol\n") -> Case:
    """A Greeting input whose metadata and spec (YAML lines indented by two) are given."""
    return bad_input(id, HEAD + "metadata:\n" + metadata + "spec:\n" + spec, message)


def laughs(levels: int) -> str:
    lines = ['  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


YAML = [
    bad_input("yaml-unclosed-flow", HEAD + "metadata: [a\n", r"^error: in/bad\.yaml:\d+: invalid YAML"),
    bad_input("yaml-tab-indent", HEAD + "metadata:\n\tname: x\n", r"in/bad\.yaml:\d+: invalid YAML"),
    bad_input("yaml-bad-indent", HEAD + "metadata:\n  name: x\n namespace: y\n", r"in/bad\.yaml:\d+: invalid YAML"),
    bad_input("yaml-unterminated-string", HEAD + 'metadata: {name: "x}\n', r"in/bad\.yaml:\d+: invalid YAML"),
    bad_input("yaml-bad-escape", HEAD + 'metadata: {name: "\\q"}\n', r"in/bad\.yaml:\d+: invalid YAML"),
    bad_input("yaml-control-char", HEAD + "metadata: {name: a\x01b}\n", r"in/bad\.yaml.*invalid YAML"),
    bad_input("yaml-nul-byte", HEAD.encode() + b"metadata: {name: a\x00}\n", r"in/bad\.yaml.*invalid YAML"),
    bad_input("yaml-not-utf8", HEAD.encode() + b"metadata: {name: \xff\xfe}\n", r"in/bad\.yaml: not valid UTF-8"),
    bad_input(
        "yaml-undefined-alias", HEAD + "metadata: *nope\n", r"in/bad\.yaml:3: invalid YAML: found undefined alias"
    ),
    bad_input("yaml-recursive-alias", HEAD + "metadata: &m {name: x, self: *m}\n", r"in/bad\.yaml:\d+: .*recursive"),
    bad_input(
        "yaml-billion-laughs",
        ALICE.replace("alice", "carol") + "  x:\n" + "  " + laughs(10).replace("\n  ", "\n    "),
        r"in/bad\.yaml:\d+: invalid YAML: document too large: aliases expand it to over",
    ),
    bad_input(
        "yaml-python-tag", HEAD + "metadata: !!python/object:os.system {name: x}\n", r"in/bad\.yaml:\d+: invalid YAML"
    ),
    bad_input("yaml-unknown-tag", HEAD + "metadata: !thing {name: x}\n", r"in/bad\.yaml:\d+: invalid YAML"),
    bad_input("yaml-unhashable-key", HEAD + "metadata:\n  ? [a, b]\n  : x\n", r"in/bad\.yaml:\d+: invalid YAML"),
    bad_input(
        "yaml-deep-nesting",
        HEAD + "metadata: {name: x}\nspec: " + "[" * 5000 + "]" * 5000 + "\n",
        r"in/bad\.yaml:\d+: invalid YAML: exceeded maximum nesting depth",
    ),
    bad_input(
        "yaml-duplicate-name",
        HEAD + "metadata:\n  name: x\n  name: y\n",
        r'in/bad\.yaml:5: invalid YAML: duplicate key "name" \(first at line 4\)',
    ),
    bad_input(
        "yaml-duplicate-spec",
        HEAD + "metadata: {name: x}\nspec: {name: a}\nspec: {name: b}\n",
        r'in/bad\.yaml:5: invalid YAML: duplicate key "spec"',
    ),
    bad_input(
        "yaml-duplicate-kind",
        HEAD + "kind: Message\nmetadata: {name: x}\n",
        r'in/bad\.yaml:3: invalid YAML: duplicate key "kind"',
    ),
    bad_input(
        "yaml-duplicate-in-second-document",
        ALICE.replace("alice", "c1") + "---\n" + HEAD + "metadata: {name: c2, name: c3}\n",
        r'in/bad\.yaml:\d+: invalid YAML: duplicate key "name"',
    ),
    bad_input("yaml-list-document", "- a\n- b\n", r"in/bad\.yaml:1: document must be a mapping, got list"),
    bad_input("yaml-scalar-document", "just words\n", r"in/bad\.yaml:1: document must be a mapping, got string"),
    bad_input(
        "yaml-second-document-scalar",
        ALICE.replace("alice", "c1") + "---\n42\n",
        r"in/bad\.yaml:\d+: document 2: document must be a mapping, got number",
    ),
    bad_input(
        "yaml-missing-apiversion", "kind: Greeting\nmetadata: {name: x}\n", r"in/bad\.yaml:1: apiVersion is required"
    ),
    bad_input(
        "yaml-missing-kind",
        "apiVersion: example.com/v1alpha1\nmetadata: {name: x}\n",
        r"in/bad\.yaml:1: kind is required",
    ),
    bad_input(
        "yaml-apiversion-number",
        "apiVersion: 1\nkind: Greeting\nmetadata: {name: x}\n",
        r"in/bad\.yaml:1: apiVersion must be a string",
    ),
    bad_input(
        "yaml-kind-list",
        "apiVersion: example.com/v1alpha1\nkind: [Greeting]\nmetadata: {name: x}\n",
        r"in/bad\.yaml:1: kind must be a string",
    ),
    bad_input(
        "yaml-too-large",
        ALICE.replace("alice", "carol") + "".join(f"  k{i}: v\n" for i in range(300)),
        r"in/bad\.yaml: file too large \(over 2000 bytes; raise it with \$CHOREO_YAML_SIZE_LIMIT\)",
        env={"CHOREO_YAML_SIZE_LIMIT": "2000"},
    ),
    bad_input(
        "yaml-many-unknown-keys",
        HEAD + "metadata: {name: carol}\nspec:\n  name: C\n" + "".join(f"  k{i}: 1\n" for i in range(20_000)),
        r"in/bad\.yaml: .*spec\.k0.*and 19997 more",
    ),
    bad_input(
        "yaml-limit-variable-garbage",
        ALICE.replace("alice", "carol"),
        r"\$CHOREO_YAML_SIZE_LIMIT: expected a positive whole number",
        env={"CHOREO_YAML_SIZE_LIMIT": "big"},
    ),
    bad_input(
        "yaml-int-tag-not-a-number",
        HEAD + "metadata: {name: x}\nspec: {name: !!int abc}\n",
        r'in/bad\.yaml:4: invalid YAML: "abc" is not a valid !!int',
    ),
    bad_input(
        "yaml-bool-tag-not-a-boolean",
        HEAD + "metadata:\n  name: x\n  labels: {a: !!bool maybe}\n",
        r'in/bad\.yaml:5: invalid YAML: "maybe" is not a valid !!bool',
    ),
    bad_input(
        "yaml-float-tag-empty",
        HEAD + "metadata: {name: x}\nspec: {name: !!float ''}\n",
        r'in/bad\.yaml:4: invalid YAML: "" is not a valid !!float',
    ),
    bad_input(
        "yaml-binary-value",
        HEAD + "metadata: {name: x}\nspec: {name: !!binary aGVsbG8=}\n",
        r"^error: in/bad\.yaml:4: invalid YAML: !!binary is not supported: project files hold JSON data$",
    ),
    bad_input(
        "yaml-set-value",
        HEAD + "metadata:\n  name: x\n  annotations: !!set {a, b}\n",
        r"^error: in/bad\.yaml:5: invalid YAML: !!set is not supported",
    ),
    bad_input(
        "yaml-timestamp-tag-garbage",
        HEAD + "metadata: {name: x}\nspec: {name: !!timestamp 20x}\n",
        r"^error: in/bad\.yaml:4: invalid YAML: !!timestamp is not supported",
    ),
]

INPUTS = [
    greeting("input-name-upper", "  name: C\n", r"in/bad\.yaml: .*metadata\.name", "  name: Carol_X\n"),
    greeting("input-name-empty", "  name: C\n", r"in/bad\.yaml: .*name", '  name: ""\n'),
    greeting("input-name-missing", "  name: C\n", r"in/bad\.yaml: .*name", "  namespace: default\n"),
    greeting("input-name-too-long", "  name: C\n", r"in/bad\.yaml: .*metadata\.name", f"  name: {'a' * 300}\n"),
    greeting("input-name-number", "  name: C\n", r"in/bad\.yaml: .*metadata\.name", "  name: 42\n"),
    greeting(
        "input-namespace-invalid",
        "  name: C\n",
        r"in/bad\.yaml: .*namespace",
        "  name: carol\n  namespace: Not_Valid\n",
    ),
    greeting("input-labels-list", "  name: C\n", r"in/bad\.yaml: .*labels", "  name: carol\n  labels: [a]\n"),
    greeting(
        "input-label-value-invalid",
        "  name: C\n",
        r"in/bad\.yaml: .*labels",
        "  name: carol\n  labels: {a: 'not valid!'}\n",
    ),
    greeting(
        "input-label-key-invalid",
        "  name: C\n",
        r"in/bad\.yaml: .*labels",
        "  name: carol\n  labels: {'bad key!': a}\n",
    ),
    greeting(
        "input-annotation-number",
        "  name: C\n",
        r"in/bad\.yaml: .*annotations",
        "  name: carol\n  annotations: {a: 1}\n",
    ),
    greeting(
        "input-finalizers-string", "  name: C\n", r"in/bad\.yaml: .*finalizers", "  name: carol\n  finalizers: x\n"
    ),
    greeting(
        "input-owner-garbage",
        "  name: C\n",
        r"in/bad\.yaml: .*ownerReferences",
        "  name: carol\n  ownerReferences: [{a: b}]\n",
    ),
    bad_input("input-metadata-list", HEAD + "metadata: [a]\n", r"^error: in/bad\.yaml:1: metadata must be a mapping"),
    bad_input("input-metadata-missing", HEAD + "spec: {name: C}\n", r"in/bad\.yaml: .*name"),
    bad_input("input-spec-list", HEAD + "metadata: {name: carol}\nspec: [a]\n", r"in/bad\.yaml: .*\.spec"),
    greeting("input-spec-name-number", "  name: 42\n", r"in/bad\.yaml: .*\.spec\.name.*string"),
    greeting("input-spec-name-empty", '  name: ""\n', r"in/bad\.yaml: .*\.spec\.name"),
    greeting("input-spec-name-missing", "  language: en\n", r"in/bad\.yaml: .*\.spec\.name.*Required"),
    greeting("input-spec-language-enum", "  name: C\n  language: xx\n", r'in/bad\.yaml: .*\.spec\.language.*"xx"'),
    greeting("input-spec-nan", "  name: .nan\n", r"in/bad\.yaml: .*\.spec\.name"),
    greeting(
        "input-spec-huge-list-value",
        "  name: [" + ", ".join(["en"] * 20_000) + "]\n",
        r'in/bad\.yaml: .*\.spec\.name: Invalid value: \["en", "en", .*…: must be of type string$',
    ),
    greeting(
        "input-spec-huge-mapping-value",
        "  name: C\n  language: {" + ", ".join(f"k{i}: {i}" for i in range(5_000)) + "}\n",
        r'in/bad\.yaml: .*\.spec\.language: Invalid value: \{"k0": 0, .*…: must be of type string$',
    ),
    greeting("input-spec-huge-int", f"  name: {10**100}\n", r"in/bad\.yaml: .*\.spec\.name"),
    greeting("input-spec-unknown-field", "  name: C\n  colour: red\n", r"in/bad\.yaml: .*\.spec\.colour.*not declared"),
    bad_input(
        "input-unknown-top-field",
        HEAD + "metadata: {name: carol}\nspec: {name: C}\nextra: 1\n",
        r"in/bad\.yaml: .*\.extra.*not declared",
    ),
    bad_input(
        "input-status-garbage",
        HEAD + "metadata: {name: carol}\nspec: {name: C}\nstatus: 5\n",
        r"in/bad\.yaml: .*status",
    ),
    bad_input(
        "input-unknown-kind",
        "apiVersion: example.com/v1alpha1\nkind: Farewell\nmetadata: {name: x}\n",
        r"in/bad\.yaml: unknown kind Farewell",
    ),
    bad_input(
        "input-unknown-version",
        "apiVersion: example.com/v9\nkind: Greeting\nmetadata: {name: x}\n",
        r"in/bad\.yaml: apiVersion example\.com/v9: version v9 of Greeting\.example\.com is not served "
        r"\(served: v1alpha1\)",
    ),
    bad_input(
        "input-unknown-group",
        "apiVersion: nowhere.io/v1\nkind: Greeting\nmetadata: {name: x}\n",
        r"in/bad\.yaml: unknown kind Greeting",
    ),
    bad_input(
        "input-core-group",
        "apiVersion: v1\nkind: Greeting\nmetadata: {name: x}\n",
        r"in/bad\.yaml: unknown kind Greeting",
    ),
    bad_input("input-bad-apiversion", "apiVersion: a/b/c\nkind: Greeting\nmetadata: {name: x}\n", r"in/bad\.yaml"),
    bad_input(
        "input-duplicate-object",
        ALICE,
        r"in/bad\.yaml.*in/example\.com\.greeting\.alice\.yaml|"
        r"in/example\.com\.greeting\.alice\.yaml.*in/bad\.yaml",
    ),
    bad_input(
        "input-duplicate-in-one-file",
        ALICE.replace("alice", "carol") + "---\n" + ALICE.replace("alice", "carol"),
        r"in/bad\.yaml#1.*in/bad\.yaml#2|in/bad\.yaml",
    ),
    bad_input(
        "input-duplicate-implicit-namespace",
        ALICE.replace("  namespace: default\n", ""),
        r"in/bad\.yaml.*alice|alice.*in/bad\.yaml",
    ),
    Case(
        "input-removed-crd-still-used",
        remove=(CRD,),
        message=r"in/example\.com\.greeting\.(alice|bob)\.yaml: unknown kind Greeting",
    ),
    Case(
        "input-edit-breaks-schema",
        edits={IN: ("language: fr", "language: klingon")},
        message=r"in/example\.com\.greeting\.alice\.yaml: .*\.spec\.language",
    ),
    Case(
        "input-edit-invalid-yaml",
        edits={IN: ("spec:", "spec: [")},
        message=r"in/example\.com\.greeting\.alice\.yaml:\d+: invalid YAML",
    ),
    bad_input("input-name-uppercase-flow", HEAD + "metadata: {name: X}\n", r"in/bad\.yaml: .*metadata\.name"),
]


def crd(id: str, schema_edit: tuple[str, str] | None = None, message: str = "", **kw: object) -> Case:
    """The Greeting CRD with one text replaced."""
    return Case(id, edits={CRD: schema_edit} if schema_edit else {}, message=message, **kw)  # type: ignore[arg-type]


GREETING_CRD_NAME = r"crds/example\.com_greetings\.yaml"
CRDS = [
    crd(
        "crd-invalid-yaml", ("  group: example.com", "  group: [example.com"), GREETING_CRD_NAME + r":\d+: invalid YAML"
    ),
    crd(
        "crd-duplicate-key",
        ("  scope: Namespaced", "  scope: Namespaced\n  scope: Cluster"),
        GREETING_CRD_NAME + r':\d+: invalid YAML: duplicate key "scope"',
    ),
    crd(
        "crd-names-list",
        ("  names:\n    kind: Greeting", "  names: [Greeting]\n  xnames:\n    kind: Greeting"),
        GREETING_CRD_NAME + r".*names",
    ),
    crd(
        "crd-versions-mapping",
        ("  versions:\n  - name: v1alpha1", "  versions:\n    name: v1alpha1\n  xv:\n  - name: v1"),
        GREETING_CRD_NAME + r".*versions",
    ),
    crd(
        "crd-schema-list",
        ("      openAPIV3Schema:\n", "      openAPIV3Schema: []\n      x:\n"),
        GREETING_CRD_NAME + r".*",
    ),
    crd(
        "crd-name-mapping",
        ("  name: greetings.example.com", "  name: {greetings: example.com}"),
        GREETING_CRD_NAME + r": .*\.metadata\.name: Invalid value: \{\S+: \S+\}: must be of type string",
    ),
    crd(
        "crd-name-list",
        ("  name: greetings.example.com", "  name: [greetings.example.com]"),
        GREETING_CRD_NAME + r": .*\.metadata\.name: Invalid value: \[\S+\]: must be of type string",
    ),
    crd(
        "crd-metadata-text",
        ("metadata:\n  name: greetings.example.com", "metadata: greetings.example.com\nx:\n  name: y"),
        GREETING_CRD_NAME + r":1: metadata must be a mapping, got string$",
    ),
    crd("crd-missing-group", ("  group: example.com\n", ""), GREETING_CRD_NAME + r".*group"),
    crd("crd-missing-kind", ("    kind: Greeting\n", ""), GREETING_CRD_NAME + r".*kind"),
    crd("crd-missing-plural", ("    plural: greetings\n", ""), GREETING_CRD_NAME + r".*plural"),
    crd("crd-scope-invalid", ("scope: Namespaced", "scope: Galactic"), GREETING_CRD_NAME + r".*scope"),
    crd(
        "crd-no-versions",
        ("  versions:\n  - name: v1alpha1", "  versions: []\n  xversions:\n  - name: v1alpha1"),
        GREETING_CRD_NAME + r".*versions",
    ),
    crd("crd-no-storage-version", ("    storage: true", "    storage: false"), GREETING_CRD_NAME + r".*storage"),
    crd(
        "crd-name-mismatch",
        ("  name: greetings.example.com", "  name: hellos.example.com"),
        GREETING_CRD_NAME + r".*name",
    ),
    crd(
        "crd-invalid-pattern",
        ("name: {type: string, minLength: 1}", "name: {type: string, pattern: '['}"),
        GREETING_CRD_NAME + r".*pattern",
    ),
    crd(
        "crd-lookahead-pattern",
        ("name: {type: string, minLength: 1}", "name: {type: string, pattern: '(?=a)'}"),
        GREETING_CRD_NAME + r".*pattern",
    ),
    crd(
        "crd-type-objekt",
        (
            "            type: object\n            required: [name]",
            "            type: objekt\n            required: [name]",
        ),
        GREETING_CRD_NAME + r".*type",
    ),
    crd("crd-type-number", ("name: {type: string, minLength: 1}", "name: {type: 5}"), GREETING_CRD_NAME + r".*type"),
    crd(
        "crd-type-list",
        ("name: {type: string, minLength: 1}", "name: {type: [string, integer]}"),
        GREETING_CRD_NAME + r".*type",
    ),
    crd("crd-required-not-list", ("required: [name]", "required: name"), GREETING_CRD_NAME + r".*required"),
    crd("crd-enum-not-list", ("enum: [en, fr, nl, de]", "enum: en"), GREETING_CRD_NAME + r".*enum"),
    crd("crd-negative-maxlength", ("minLength: 1", "maxLength: -1"), GREETING_CRD_NAME + r".*maxLength"),
    crd("crd-default-wrong-type", ("default: en", "default: 5"), GREETING_CRD_NAME + r".*default"),
    crd(
        "crd-properties-list",
        (
            "        properties:\n          apiVersion: {type: string}",
            "        properties: [apiVersion]\n        xproperties:\n          apiVersion: {type: string}",
        ),
        GREETING_CRD_NAME + r".*properties",
    ),
    crd(
        "crd-listmap-key-optional",
        ("x-kubernetes-list-map-keys: [type]", "x-kubernetes-list-map-keys: [reason]"),
        GREETING_CRD_NAME + r'.*conditions\.x-kubernetes-list-map-keys\[0\]: .*"reason": a key must be required',
    ),
    crd(
        "crd-listmap-key-twice",
        ("x-kubernetes-list-map-keys: [type]", "x-kubernetes-list-map-keys: [type, type]"),
        GREETING_CRD_NAME + r".*x-kubernetes-list-map-keys\[1\]: .*must not be listed twice",
    ),
    crd(
        "crd-uniqueitems-number",
        ("minLength: 1", "uniqueItems: 7"),
        GREETING_CRD_NAME + r".*name\.uniqueItems: must be a boolean, got 7",
    ),
    crd(
        "crd-array-without-items",
        ("messageRef: {type: string}", "messageRef: {type: array}"),
        GREETING_CRD_NAME + r".*items",
    ),
    crd(
        "crd-ref",
        ("messageRef: {type: string}", "messageRef: {$ref: '#/definitions/x'}"),
        GREETING_CRD_NAME + r".*\$ref",
    ),
    crd(
        "crd-listmap-without-keys",
        ("                x-kubernetes-list-map-keys: [type]\n", ""),
        GREETING_CRD_NAME + r".*list-map-keys",
    ),
    crd(
        "crd-top-level-array",
        (
            "        description: Greeting asks for a message to someone in a language.\n        type: object",
            "        type: array\n        items: {type: string}",
        ),
        GREETING_CRD_NAME + r".*",
    ),
    crd(
        "crd-missing-schema",
        ("    schema:\n      openAPIV3Schema:", "    xschema:\n      openAPIV3Schema:"),
        GREETING_CRD_NAME + r".*schema",
    ),
    Case(
        "crd-duplicate-kind",
        files={"crds/again.yaml": (EXAMPLES / "greeting" / CRD).read_text()},
        message=r"crds/(again|example\.com_greetings)\.yaml.*crds/(again|example\.com_greetings)\.yaml",
    ),
    crd(
        "crd-tightened-pattern-fails-as-on-a-fresh-store",
        ("name: {type: string, minLength: 1}", "name: {type: string, pattern: '^[a-z]+$'}"),
        r"in/example\.com\.greeting\.(alice|bob)\.yaml: .*\.spec\.name.*must match pattern",
    ),
    Case(
        "crd-tightened-child-schema",
        edits={MSG_CRD: ("text: {type: string}", "text: {type: string, maxLength: 3}")},
        message=r"Message\.example\.com .*\.spec\.text: Too long",
    ),
    Case(
        "crd-kind-not-crd",
        files={"crds/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"},
        message=r"crds/x\.yaml",
    ),
    Case("crd-not-a-mapping", files={"crds/x.yaml": "- a\n"}, message=r"crds/x\.yaml:1: document must be a mapping"),
    Case(
        "crd-empty-spec",
        files={
            "crds/x.yaml": "apiVersion: apiextensions.k8s.io/v1\n"
            "kind: CustomResourceDefinition\nmetadata: {name: x.y.z}\nspec: {}\n"
        },
        message=r"crds/x\.yaml",
    ),
]

RECONCILER_CONFIGS = [
    Case(
        "config-metadata-text",
        edits={CFG: ("metadata:\n  name: greeting", "metadata: greeting\nx:\n  name: greeting")},
        message=r"^error: reconcilers/greeting/config\.yaml: metadata must be a mapping$",
    ),
    Case(
        "config-invalid-yaml",
        edits={CFG: ("spec:", "spec: [")},
        message=r"reconcilers/greeting/config\.yaml:\d+: invalid YAML",
    ),
    Case(
        "config-not-mapping",
        files={CFG: "- a\n"},
        message=r"reconcilers/greeting/config\.yaml:1: document must be a mapping",
    ),
    Case(
        "config-two-documents",
        edits={CFG: ("apiVersion:", "a: 1\n---\napiVersion:")},
        message=r"reconcilers/greeting/config\.yaml: expected one YAML document, found 2",
    ),
    Case(
        "config-duplicate-key",
        edits={CFG: ("  conditionType: Ready", "  conditionType: Ready\n  conditionType: X")},
        message=r'reconcilers/greeting/config\.yaml:\d+: invalid YAML: duplicate key "conditionType"',
    ),
    Case("config-no-for", edits={CFG: ("  for:", "  xfor:")}, message=r"reconcilers/greeting/config\.yaml.*for"),
    Case(
        "config-for-list",
        edits={CFG: ("  for:\n    group", "  for: []\n  xfor:\n    group")},
        message=r"reconcilers/greeting/config\.yaml.*for",
    ),
    Case(
        "config-for-unknown-kind",
        edits={CFG: ("    kind: Greeting", "    kind: Salutation")},
        message=r"reconcilers/greeting/config\.yaml.*Salutation",
    ),
    Case(
        "config-for-unserved-version",
        edits={CFG: ("    version: v1alpha1\n    kind: Greeting", "    version: v9\n    kind: Greeting")},
        message=r"reconcilers/greeting/config\.yaml.*v9",
    ),
    Case(
        "config-owns-unknown-kind",
        edits={CFG: ("    kind: Message", "    kind: Letter")},
        message=r"reconcilers/greeting/config\.yaml.*Letter",
    ),
    Case(
        "config-owns-not-list",
        edits={CFG: ("  owns:\n  -", "  owns: 5\n  xowns:\n  -")},
        message=r"reconcilers/greeting/config\.yaml.*owns",
    ),
    Case(
        "config-selector-garbage",
        edits={CFG: ("    selector: {}", "    selector: 'a ]] b'")},
        message=r"reconcilers/greeting/config\.yaml.*selector",
    ),
    Case("config-no-code", remove=(CODE,), message=r"reconcilers/greeting"),
    Case(
        "config-two-code-files",
        files={"reconcilers/greeting/main.jinja2": "kind: x\n"},
        message=r"reconcilers/greeting",
    ),
    Case(
        "config-wrong-kind",
        edits={CFG: ("kind: Reconciler", "kind: Reconciller")},
        message=r"reconcilers/greeting/config\.yaml.*Reconcil",
    ),
    Case(
        "config-unknown-spec-field",
        edits={CFG: ("  conditionType: Ready", "  conditionType: Ready\n  colour: red")},
        message=r"reconcilers/greeting/config\.yaml.*colour",
    ),
    Case(
        "config-spec-list",
        files={CFG: "apiVersion: choreo.kform.dev/v1alpha1\nkind: Reconciler\nmetadata: {name: greeting}\nspec: []\n"},
        message=r"reconcilers/greeting/config\.yaml.*spec",
    ),
    Case("config-empty", files={CFG: ""}, message=r"reconcilers/greeting/config\.yaml"),
    Case(
        "config-flat-without-code",
        files={
            "reconcilers/flat.yaml": "apiVersion: choreo.kform.dev/v1alpha1\n"
            "kind: Reconciler\nmetadata: {name: flat}\nspec:\n"
            "  for: {group: example.com, version: v1alpha1, kind: Greeting}\n"
        },
        message=r"reconcilers/flat",
    ),
    Case(
        "config-watch-unknown-kind",
        edits={CFG: ("  owns:", "  watches:\n  - {group: x.io, version: v1, kind: Nope, selector: {}}\n  owns:")},
        message=r"reconcilers/greeting/config\.yaml.*Nope",
    ),
    Case(
        "config-not-utf8", files={CFG: b"\xff\xfe\x00"}, message=r"reconcilers/greeting/config\.yaml: not valid UTF-8"
    ),
]


def star(id: str, code: str, message: str, **kw: object) -> Case:
    """The greeting reconciler's code replaced by ``code``."""
    return Case(id, files={CODE: code}, message=message, **kw)  # type: ignore[arg-type]


def star_body(id: str, body: str, message: str, **kw: object) -> Case:
    """A reconcile function whose body (indented by four) runs first, then the usual result."""
    code = "def reconcile(self):\n" + body + "    return reconcile_result(self, False, 0, '', False)\n"
    return star(id, code, message, **kw)


STAR_FILE = r"reconcilers/greeting/reconciler\.star"
STARLARK = [
    star("star-syntax-error", "def reconcile(self)\n    return 1\n", STAR_FILE),
    star("star-no-reconcile", "def other(self):\n    pass\n", STAR_FILE + r".*reconcile"),
    star("star-reconcile-not-function", "reconcile = 5\n", STAR_FILE),
    star("star-indentation", "def reconcile(self):\n  x = 1\n    return x\n", STAR_FILE),
    star_body("star-division-by-zero", "    x = 1 // 0\n", STAR_FILE),
    star_body("star-undefined-name", "    x = nothing_here\n", STAR_FILE),
    star_body("star-nan-in-result", "    self['spec']['n'] = float('nan')\n", STAR_FILE + r":3: .*obj\.spec\.n is nan"),
    star_body(
        "star-infinity-applied",
        "    x = {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'x'}, 'data': {'a': 1e999}}\n"
        "    client_apply(x)\n",
        STAR_FILE + r":3: .*client_apply: obj\.data\.a is \+inf",
    ),
    star(
        "star-nan-in-hand-built-result",
        "def reconcile(self):\n    self['spec']['n'] = float('nan')\n    return {'obj': self}\n",
        STAR_FILE + r": .*reconcile\(self\): obj\.spec\.n is nan",
    ),
    star_body(
        "star-int-key-in-result", "    self['spec'][1] = 'x'\n", STAR_FILE + r":3: .*obj\.spec has a non-string key 1"
    ),
    star_body("star-fail", "    fail('boom')\n", r"boom"),
    star_body("star-key-error", "    x = self['nope']\n", STAR_FILE),
    star_body("star-type-error", "    x = 1 + 'a'\n", STAR_FILE),
    star_body(
        "star-infinite-loop",
        "    for i in range(1000000000):\n        pass\n",
        r"reconcil",
        args=("run", "{p}", "--time-limit", "1"),
    ),
    star("star-recursion", "def f(n):\n    return f(n)\ndef reconcile(self):\n    f(1)\n", STAR_FILE),
    star("star-load-missing-library", 'load("nope.star", "x")\ndef reconcile(self):\n    pass\n', r"nope\.star"),
    star(
        "star-load-missing-symbol",
        'load("example.com.greetings.star", "nope")\ndef reconcile(self):\n    pass\n',
        r"nope",
    ),
    star("star-returns-number", "def reconcile(self):\n    return 5\n", STAR_FILE),
    star("star-returns-none", "def reconcile(self):\n    pass\n", STAR_FILE),
    star_body("star-result-bad-args", "    return reconcile_result(self)\n", STAR_FILE),
    star_body(
        "star-create-without-kind",
        "    rsp = client_create({'metadata': {'name': 'x'}})\n    if rsp['error']:\n        fail(rsp['error'])\n",
        STAR_FILE + r"|kind",
    ),
    star_body(
        "star-create-unknown-kind",
        "    rsp = client_create({'apiVersion': 'x.io/v1', 'kind': 'Nope', "
        "'metadata': {'name': 'x', 'namespace': 'default'}})\n    if rsp['error']:\n        fail(rsp['error'])\n",
        r"Nope",
    ),
    star_body(
        "star-create-invalid-child",
        "    rsp = client_create({'apiVersion': 'example.com/v1alpha1', "
        "'kind': 'Message', 'metadata': {'name': 'x', 'namespace': 'default'}, 'spec': {'text': 5}})\n"
        "    if rsp['error']:\n        fail(rsp['error'])\n",
        r"\.spec\.text",
    ),
    star_body(
        "star-get-unknown-kind",
        "    rsp = client_get('x', 'default', {'apiVersion': 'x.io/v1', 'kind': 'Nope'})\n"
        "    if rsp['error']:\n        fail(rsp['error'])\n",
        r"Nope",
    ),
    star_body(
        "star-client-list-bad-cel",
        "    rsp = client_list({'apiVersion': 'example.com/v1alpha1', 'kind': 'Message'}, {'spec.text ++': 'x'})\n"
        "    if rsp['error']:\n        return reconcile_result(self, True, 0, rsp['error'], rsp['fatal'])\n",
        r"greeting\.Greeting\.example\.com\.alice .*'spec\.text \+\+' is not a valid CEL expression",
    ),
    star_body(
        "star-client-list-value-not-text",
        "    rsp = client_list({'apiVersion': 'example.com/v1alpha1', 'kind': 'Message'}, {'spec.text': [1]})\n"
        "    if rsp['error']:\n        return reconcile_result(self, True, 0, rsp['error'], rsp['fatal'])\n",
        r"greeting\.Greeting\.example\.com\.alice .*spec\.text",
    ),
    star(
        "star-return-unserved-version",
        "def reconcile(self):\n    self['apiVersion'] = 'example.com/v2'\n"
        "    return reconcile_result(self, False, 0, '', False)\n",
        r"reconciler greeting: Greeting\.example\.com default/alice: reconcile returned apiVersion example\.com/v2, "
        r"a version of Greeting\.example\.com that is not served \(served: v1alpha1\)",
    ),
    star_body("star-big-list", "    x = [0] * 1000000000\n", STAR_FILE),
    star_body("star-string-doubling", "    s = 'x'\n    for i in range(40):\n        s = s + s\n", STAR_FILE),
    star_body("star-huge-int", "    x = 1\n    for i in range(100000):\n        x = x * 1000000007\n", STAR_FILE),
    star_body("star-sorted-huge-range", "    x = sorted(range(1000000000))\n", STAR_FILE),
    star_body("star-negative-requeue", "    return reconcile_result(self, True, -5, '', False)\n", r"greeting"),
    star_body("star-rename-for-object", "    self['metadata']['name'] = 'renamed'\n", r"greeting"),
    star_body("star-huge-object", "    self['status'] = {'messageRef': 'x' * 20000000}\n", r"greeting"),
    star("star-not-utf8", b"def reconcile(self):\n    x = '\xff'\n", STAR_FILE + r": not valid UTF-8"),
]

LIBRARIES = [
    Case(
        "lib-syntax-error",
        files={LIB: "def greeting_text(language, name)\n    return 1\n"},
        message=r"example\.com[._]greetings\.star",
    ),
    Case(
        "lib-runtime-error-at-load",
        files={LIB: "X = 1 // 0\ndef greeting_text(language, name):\n    return 'x'\n"},
        message=r"example\.com[._]greetings\.star",
    ),
    Case("lib-missing-symbol", files={LIB: "def other():\n    pass\n"}, message=r"greeting_text"),
    Case("lib-removed", remove=(LIB,), message=r"example\.com\.greetings\.star"),
    Case(
        "lib-loads-missing",
        files={LIB: 'load("nope.star", "y")\ndef greeting_text(l, n):\n    return "x"\n'},
        message=r"nope\.star",
    ),
    Case(
        "lib-cyclic-load",
        files={
            LIB: 'load("example.com.other.star", "y")\ndef greeting_text(l, n):\n    return y\n',
            "crds/example.com_other.star": 'load("example.com.greetings.star", "greeting_text")\ny = 1\n',
        },
        message=r"example\.com[._](greetings|other)\.star",
    ),
    Case("lib-not-utf8", files={LIB: b"X = '\xff'\n"}, message=r"example\.com_greetings\.star: not valid UTF-8"),
    Case(
        "lib-runtime-error-in-call",
        files={LIB: "def greeting_text(language, name):\n    return 1 // 0\n"},
        message=r"greeting",
    ),
]

J2 = "jinja2"
J2_MAIN = "reconcilers/interface/main.jinja2"
J2_COMMON = "reconcilers/interface/common.jinja2"
J2_FILE = r"reconcilers/interface/main\.jinja2"


def jinja(id: str, text: str, message: str = J2_FILE, file: str = J2_MAIN, **kw: object) -> Case:
    return Case(id, base=J2, files={file: text}, message=message, **kw)  # type: ignore[arg-type]


def jinja_edit(id: str, old: str, new: str, message: str = J2_FILE) -> Case:
    return Case(id, base=J2, edits={J2_MAIN: (old, new)}, message=message)


JINJA = [
    jinja_edit("j2-unclosed-block", "{%- if spec.mtu is defined %}", "{%- if spec.mtu is defined"),
    jinja_edit("j2-if-without-endif", "{%- endif %}\n{%- if spec.mtu", "\n{%- if spec.mtu"),
    jinja_edit("j2-unknown-tag", "{%- if spec.mtu is defined %}", "{% frobnicate %}{%- if spec.mtu is defined %}"),
    jinja_edit("j2-undefined-variable", "{{ spec.name }}", "{{ nothing.here }}"),
    jinja_edit("j2-unknown-filter", "{{ spec.name }}", "{{ spec.name | nofilter }}"),
    jinja_edit("j2-division-by-zero", "{{ spec.name }}", "{{ 1 / 0 }}"),
    jinja_edit("j2-sandbox-escape", "{{ spec.name }}", "{{ ''.__class__.__mro__ }}"),
    jinja_edit("j2-missing-import", "'common.jinja2'", "'nope.jinja2'", r"nope\.jinja2"),
    jinja_edit("j2-missing-macro", "import 'common.jinja2' metadata as", "import 'common.jinja2' nope as", r"nope"),
    jinja("j2-output-not-yaml", "kind: [\n"),
    jinja("j2-output-list", "- a\n- b\n"),
    jinja("j2-output-scalar", "hello\n"),
    jinja("j2-output-missing-kind", "apiVersion: config.sdcio.dev/v1alpha1\nmetadata: {name: x}\n"),
    jinja(
        "j2-output-unknown-kind", "apiVersion: x.io/v1\nkind: Nope\nmetadata: {name: x, namespace: default}\n", r"Nope"
    ),
    jinja(
        "j2-output-duplicate-key",
        "apiVersion: config.sdcio.dev/v1alpha1\nkind: Config\nkind: Config\nmetadata: {name: x, namespace: default}\n",
        r"duplicate key",
    ),
    jinja(
        "j2-output-billion-laughs",
        "apiVersion: config.sdcio.dev/v1alpha1\nkind: Config\n"
        "metadata: {name: x, namespace: default}\nspec:\n" + laughs(10),
        r"aliases expand",
    ),
    jinja(
        "j2-output-invalid-config",
        "apiVersion: config.sdcio.dev/v1alpha1\nkind: Config\n"
        "metadata: {name: x, namespace: default}\nspec: {priority: high}\n",
        r"\.spec\.priority",
    ),
    jinja("j2-macro-recursion", "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}"),
    jinja(
        "j2-nested-loops",
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        r"reconcil|time",
        args=("run", "{p}", "--time-limit", "1"),
    ),
    jinja("j2-common-syntax-error", "{% macro metadata( %}", r"common\.jinja2", file=J2_COMMON),
    jinja("j2-not-utf8", b"{{ '\xff' }}", J2_FILE + r": not valid UTF-8"),
    jinja("j2-huge-output", "{% for a in range(3000000) %}xxxxxxxxxx{% endfor %}", r"interface"),
    jinja_edit("j2-call-undefined-macro", "{{ config_metadata(", "{{ nomacro("),
]

GO = "gotemplate"
GO_MAIN = "reconcilers/interface/main.tpl"
GO_COMMON = "reconcilers/interface/common.tpl"
GO_FILE = r"reconcilers/interface/main\.tpl"


def gotpl(id: str, text: str, message: str = GO_FILE, file: str = GO_MAIN, **kw: object) -> Case:
    return Case(id, base=GO, files={file: text}, message=message, **kw)  # type: ignore[arg-type]


def gotpl_edit(id: str, old: str, new: str, message: str = GO_FILE) -> Case:
    return Case(id, base=GO, edits={GO_MAIN: (old, new)}, message=message)


GOTEMPLATES = [
    gotpl_edit("go-unclosed-action", "{{ .spec.name }}", "{{ .spec.name "),
    gotpl_edit("go-missing-end", "{{- end }}\n{{- if .spec.vlanTagging }}", "\n{{- if .spec.vlanTagging }}"),
    gotpl_edit("go-unexpected-end", "{{ .spec.name }}", "{{ .spec.name }}{{ end }}"),
    gotpl_edit("go-unknown-function", "{{ .spec.name }}", "{{ nofunc .spec.name }}"),
    gotpl_edit("go-undefined-template", '{{- template "metadata" . }}', '{{- template "nope" . }}', r"nope"),
    gotpl_edit("go-bad-pipeline", "{{ .spec.name }}", "{{ .spec.name | }}"),
    gotpl_edit("go-wrong-arg-count", "{{ .spec.name }}", "{{ printf }}"),
    gotpl_edit("go-index-out-of-range", "{{ .spec.name }}", "{{ index .spec.name 99 }}"),
    gotpl_edit("go-bad-number", "{{ .spec.name }}", "{{ 1x2 }}"),
    gotpl("go-output-not-yaml", "kind: [\n"),
    gotpl("go-output-list", "- a\n"),
    gotpl(
        "go-output-unknown-kind", "apiVersion: x.io/v1\nkind: Nope\nmetadata: {name: x, namespace: default}\n", r"Nope"
    ),
    gotpl("go-recursion", '{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}'),
    gotpl("go-common-syntax-error", '{{ define "metadata" }}{{ .x ', r"common\.tpl", file=GO_COMMON),
    gotpl(
        "go-nested-ranges",
        '{{ range $i, $e := "' + "x" * 3000 + '" }}{{ range $j, $f := "' + "x" * 3000 + '" }}{{ end }}{{ end }}',
        r"interface|time",
        args=("run", "{p}", "--time-limit", "1"),
    ),
    gotpl("go-not-utf8", b"{{ '\xff' }}", GO_FILE + r": not valid UTF-8"),
]

REF = "refs/bad.yaml"
UPSTREAM = "apiVersion: choreo.kform.dev/v1alpha1\nkind: UpstreamRef\nmetadata:\n  name: up\nspec:\n"
REFS = [
    Case("ref-invalid-yaml", files={REF: UPSTREAM + "  url: [\n"}, message=r"refs/bad\.yaml:\d+: invalid YAML"),
    Case("ref-missing-url", files={REF: UPSTREAM + "  ref: {type: tag, name: v1}\n"}, message=r"refs/bad\.yaml.*url"),
    Case(
        "ref-bad-scheme",
        files={REF: UPSTREAM + "  url: ext::sh -c id\n  ref: {type: tag, name: v1}\n"},
        message=r"refs/bad\.yaml.*url",
    ),
    Case(
        "ref-branch-not-pinned",
        files={REF: UPSTREAM + "  url: https://example.invalid/x.git\n  ref: {type: branch, name: main}\n"},
        message=r"refs/bad\.yaml",
    ),
    Case(
        "ref-missing-ref", files={REF: UPSTREAM + "  url: https://example.invalid/x.git\n"}, message=r"refs/bad\.yaml"
    ),
    Case(
        "ref-unreachable-local",
        files={REF: UPSTREAM + "  url: file:///nonexistent/repo\n  ref: {type: tag, name: v1}\n"},
        message=r"refs/bad\.yaml|up",
    ),
    Case(
        "ref-option-injection",
        files={REF: UPSTREAM + "  url: --upload-pack=touch /tmp/x\n  ref: {type: tag, name: v1}\n"},
        message=r"refs/bad\.yaml",
    ),
    Case("ref-spec-list", files={REF: UPSTREAM + "  - a\n"}, message=r"refs/bad\.yaml"),
    Case(
        "ref-wrong-kind", files={REF: "apiVersion: v1\nkind: Thing\nmetadata: {name: x}\n"}, message=r"refs/bad\.yaml"
    ),
]

FAB = "fabric"
PROFILE = "schemas/ietf.yaml"
S_RUN = ("run", "{p}", "-r", "-s")


def profile(id: str, old: str, new: str, message: str, **kw: object) -> Case:
    return Case(id, base=FAB, edits={PROFILE: (old, new)}, args=S_RUN, message=message, **kw)  # type: ignore[arg-type]


def running_config(id: str, content: str | bytes, message: str) -> Case:
    """``runningconfigs/leaf1.json`` of the fabric holding ``content``; a -s verdict keeps the run's objects
    (README), so the store is not compared."""
    return Case(id, base=FAB, args=S_RUN, store=False, files={"runningconfigs/leaf1.json": content}, message=message)


REPO_PROFILE = (
    "apiVersion: inv.sdcio.dev/v1alpha1\nkind: Schema\nmetadata: {name: local, namespace: default}\n"
    "spec:\n  provider: local.choreo.dev\n  version: 1.0.0\n  repositories:\n  - path: yang\n"
    "    schema:\n      models: [yang]\n      excludes: ['{excludes}']\n"
)
SCHEMA_PROFILES = [
    profile("profile-invalid-yaml", "  provider:", "  provider: [", r"schemas/ietf\.yaml:\d+: invalid YAML"),
    profile("profile-unknown-module", "  - ietf-ip\n", "  - ietf-nope\n", r"schemas/ietf\.yaml|ietf-nope"),
    profile(
        "profile-modules-not-list",
        "  modules:\n  - ietf-interfaces\n  - ietf-ip\n  - iana-if-type",
        "  modules: ietf-interfaces",
        r"schemas/ietf\.yaml.*modules",
    ),
    profile(
        "profile-version-list",
        "  version: 1.0.0",
        "  version: [1]",
        r"^schemas/ietf\.yaml: spec\.version must be a string, got list$",
    ),
    profile(
        "profile-provider-mapping",
        "  provider: ietf.choreo.dev",
        "  provider: {name: ietf.choreo.dev}",
        r"^schemas/ietf\.yaml: spec\.provider must be a string, got dict$",
    ),
    profile("profile-missing-provider", "  provider: ietf.choreo.dev\n", "", r"schemas/ietf\.yaml.*provider"),
    profile(
        "profile-duplicate-key",
        "  version: 1.0.0",
        "  version: 1.0.0\n  version: 2.0.0",
        r'schemas/ietf\.yaml:\d+: invalid YAML: duplicate key "version"',
    ),
    Case(
        "profile-invalid-excludes-regex",
        base=FAB,
        args=S_RUN,
        files={
            "schemas/local.yaml": REPO_PROFILE.replace("{excludes}", "(unclosed"),
            "yang/m.yang": "module m { namespace urn:m; prefix m; }\n",
        },
        message=r"schemas/local\.yaml.*excludes: invalid regular expression '\(unclosed'",
    ),
    Case(
        "profile-repository-missing-folder",
        base=FAB,
        args=S_RUN,
        files={"schemas/local.yaml": REPO_PROFILE.replace("{excludes}", "x").replace("path: yang", "path: nope")},
        message=r"schemas/local\.yaml.*nope",
    ),
    running_config(
        "runningconfig-nan",
        '{"ietf-interfaces:interfaces": {"interface": [{"mtu": NaN}]}}',
        r"^leaf1: /: runningconfigs/leaf1\.json: NaN is not a JSON value$",
    ),
    running_config(
        "runningconfig-nested-too-deeply",
        "[" * 100_000 + "]" * 100_000,
        r"^leaf1: /: runningconfigs/leaf1\.json: JSON nested too deeply$",
    ),
    running_config("runningconfig-invalid-json", "{not json", r"runningconfigs/leaf1\.json"),
    running_config("runningconfig-binary", b"\x89PNG\r\n\x1a\n\x00", r"runningconfigs/leaf1\.json"),
    Case("out-is-a-file", base=FAB, args=S_RUN, remove=("out",), files={"out": "not a folder\n"}, message=r"/out\b"),
    Case("out-under-proc", base=FAB, args=(*S_RUN, "--out", "/proc/choreo-out"), message=r"/proc/choreo-out"),
    Case(
        "report-bad-format",
        base=FAB,
        args=(*S_RUN, "--report", "html=x"),
        message=r"--report html=x: expected junit=FILE or json=FILE",
    ),
    Case(
        "report-into-missing-folder",
        base=FAB,
        args=(*S_RUN, "--report", "json=/nonexistent/dir/r.json"),
        message=r"/nonexistent/dir",
    ),
]

HUGE = "x" * 20_000_000
CLI = [
    Case("cli-run-missing-folder", args=("run", "{p}/nope"), message=r"nope: project folder does not exist"),
    Case("cli-run-a-file", args=("run", "{p}/" + IN), code=2, message=r"alice\.yaml. is a file"),
    Case("cli-get-unknown-kind", args=("get", "farewells", "-C", "{p}"), message=r"farewells"),
    Case("cli-get-unknown-name", args=("get", "greetings", "nobody", "-C", "{p}"), message=r'"nobody" not found'),
    Case(
        "cli-get-huge-argument",
        args=("get", HUGE, "-C", "{p}"),
        message=r"^error: .{0,1000} \.\.\. \(\d+ more characters\)$",
    ),
    Case("cli-get-huge-name", args=("get", "greetings", HUGE, "-C", "{p}"), message=r"more characters\)$"),
    Case(
        "cli-get-huge-namespace",
        args=("get", "greetings", "-n", HUGE, "-C", "{p}"),
        code=0,  # as kubectl: no objects in a namespace is not an error, but the namespace is not echoed whole
        message=r"^No resources found in x+ \.\.\. \(\d+ more characters\)$",
    ),
    Case(
        "cli-label-selector-huge",
        args=("get", "greetings", "-l", "a=" + "x" * 200_000, "-C", "{p}"),
        message=r"more characters\)$",
    ),
    Case("cli-output-invalid-choice", args=("run", "{p}", "-o", "fancy"), code=2, message=r"fancy"),
    Case("cli-output-huge-choice", args=("run", "{p}", "-o", HUGE), code=2, message=r"more characters\)$"),
    Case("cli-max-reconciles-text", args=("run", "{p}", "--max-reconciles", "many"), code=2, message=r"many"),
    Case("cli-max-reconciles-zero", args=("run", "{p}", "--max-reconciles", "0"), code=2, message=r"range x>=1"),
    Case("cli-time-limit-zero", args=("run", "{p}", "--time-limit", "0"), code=2, message=r"'--time-limit': 0\.0 "),
    Case("cli-time-limit-negative", args=("run", "{p}", "--time-limit", "-5"), code=2, message=r"-5\.0 is not in"),
    Case("cli-time-limit-nan", args=("run", "{p}", "--time-limit", "nan"), code=2, message=r"'nan' is not a number"),
    Case("cli-time-limit-infinite", args=("run", "{p}", "--time-limit", "inf"), code=2, message=r"inf is not in"),
    Case("cli-unknown-option", args=("run", "{p}", "--frobnicate"), code=2, message=r"--frobnicate"),
    Case("cli-unknown-command", args=("frobnicate",), code=2, message=r"frobnicate"),
    Case(
        "cli-get-missing-project",
        args=("get", "greetings", "-C", "{p}/nope"),
        message=r"nope: project folder does not exist",
    ),
    Case("cli-apply-missing-file", args=("apply", "-f", "{p}/nope.yaml", "-C", "{p}"), message=r"nope\.yaml"),
    Case(
        "cli-apply-invalid-yaml",
        args=("apply", "-f", "{p}/x.yaml", "-C", "{p}"),
        files={"x.yaml": HEAD + "metadata: [\n"},
        message=r"x\.yaml:\d+: invalid YAML",
    ),
    Case(
        "cli-apply-stdin-invalid-yaml",
        args=("apply", "-f", "-", "-C", "{p}"),
        stdin=HEAD + "metadata: [\n",
        message=r"^error: <stdin>:4: invalid YAML",
    ),
    Case(
        "cli-apply-stdin-too-large",
        args=("apply", "-f", "-", "-C", "{p}"),
        stdin=ALICE.replace("alice", "carol") * 20,
        env={"CHOREO_YAML_SIZE_LIMIT": "500"},
        message=r"^error: <stdin>: file too large \(over 500 bytes; raise it with \$CHOREO_YAML_SIZE_LIMIT\)$",
    ),
    Case(
        "cli-apply-stdin-no-objects",
        args=("apply", "-f", "-", "-C", "{p}"),
        stdin="---\n# nothing\n---\n",
        message=r"^error: <stdin>: no objects to apply$",
    ),
    Case(
        "cli-apply-empty-file",
        args=("apply", "-f", "{p}/x.yaml", "-C", "{p}"),
        files={"x.yaml": "# nothing yet\n"},
        message=r"x\.yaml: no objects to apply$",
    ),
    Case(
        "cli-apply-unknown-kind",
        args=("apply", "-f", "{p}/x.yaml", "-C", "{p}"),
        files={"x.yaml": "apiVersion: x.io/v1\nkind: Nope\nmetadata: {name: a}\n"},
        message=r"Nope",
    ),
    Case(
        "cli-apply-schema-violation",
        args=("apply", "-f", "{p}/x.yaml", "-C", "{p}"),
        files={"x.yaml": HEAD + "metadata: {name: carol}\nspec: {name: 5}\n"},
        message=r"\.spec\.name",
    ),
    Case("cli-delete-unknown-kind", args=("delete", "farewells", "x", "-C", "{p}"), message=r"farewells"),
    Case("cli-delete-unknown-object", args=("delete", "greetings", "nobody", "-C", "{p}"), message=r"nobody"),
    Case(
        "cli-run-diff-unknown-run",
        args=("run", "diff", "{p}", "no-such-run"),
        code=2,
        message=r'run "no-such-run" not found',
    ),
    Case(
        "cli-server-with-directory", args=("run", "{p}", "--server", "http://127.0.0.1:9"), message=r"only used locally"
    ),
    Case(
        "cli-kubeconfig-binary",
        args=("run", "start", "--kubeconfig", "{p}/kube", "{p}"),
        files={"kube": b"\x89PNG\r\n\x1a\n\x00\xff\xfe"},
        message=r"/kube: not valid UTF-8",
    ),
    Case(
        "cli-kubeconfig-duplicate-key",
        args=("run", "start", "--kubeconfig", "{p}/kube", "{p}"),
        files={"kube": "apiVersion: v1\ncurrent-context: a\ncurrent-context: b\n"},
        message=r'/kube:3: invalid YAML: duplicate key "current-context"',
    ),
    Case("cli-kubeconfig-missing", args=("run", "start", "--kubeconfig", "{p}/nokube", "{p}"), message=r"/nokube"),
    Case(
        "cli-kubeconfig-not-mapping",
        args=("run", "start", "--kubeconfig", "{p}/kube", "{p}"),
        files={"kube": "- a\n"},
        message=r"/kube:1: document must be a mapping, got list",
    ),
    Case("cli-schema-tree-unknown-profile", args=("schema", "tree", "nope", "-C", "{p}"), message=r"nope"),
    Case("cli-config-show-unknown-device", args=("config", "show", "nope", "-C", "{p}"), message=r"nope"),
]

STATE = [
    Case(
        "state-folder-is-a-file",
        remove=(".choreo",),
        files={".choreo": "x"},
        store=False,
        message=r"/\.choreo: is a file, not choreo's state folder; remove it and try again$",
    ),
    Case(
        "state-db-is-a-folder",
        remove=(".choreo/choreo.db",),
        files={".choreo/choreo.db/x": "x"},
        store=False,
        message=r"/\.choreo/choreo\.db: is a folder, not a store file",
    ),
    Case(
        "state-db-garbage",
        remove=(".choreo",),
        files={".choreo/choreo.db": "garbage " * 1000},
        store=False,
        message=r"/\.choreo/choreo\.db: the store is damaged \(file is not a database\); delete it \(the project's "
        r"\.choreo folder\) to start afresh$",
    ),
    Case(
        "state-stored-body-not-json",
        store=False,
        args=("run", "{p}", "--full"),  # a re-run at its fixpoint reads no stored object: --full reads them
        damage="UPDATE objects SET body = 'not json' WHERE kind = 'Greeting'",
        message=r"/\.choreo/choreo\.db: stored Greeting\.example\.com .*is not valid JSON",
    ),
    Case(
        "state-get-stored-body-not-json",
        store=False,
        args=("get", "greetings", "-C", "{p}"),
        damage="UPDATE objects SET body = '{' WHERE kind = 'Greeting'",
        message=r"choreo\.db: stored .*not valid JSON",
    ),
    Case(
        "state-run-result-record-not-json",
        store=False,
        args=("run", "result", "{p}"),
        damage="UPDATE records SET value = 'x'",
        message=r"choreo\.db: stored record runs/.*not valid JSON",
    ),
    Case(
        "state-get-db-is-a-folder",
        remove=(".choreo/choreo.db",),
        files={".choreo/choreo.db/x": "x"},
        store=False,
        args=("get", "greetings", "-C", "{p}"),
        message=r"/\.choreo/choreo\.db: is a folder",
    ),
]

CASES = [
    *YAML,
    *INPUTS,
    *CRDS,
    *RECONCILER_CONFIGS,
    *STARLARK,
    *LIBRARIES,
    *JINJA,
    *GOTEMPLATES,
    *REFS,
    *SCHEMA_PROFILES,
    *CLI,
    *STATE,
]
