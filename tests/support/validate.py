#!/usr/bin/env python3
"""Independent validation of kompile's output, run by tests/kubernetes_validate.rs.

It uses the schemas shipped in the `kubernetes-validate` package (PyPI) and PyPI's PyYAML, a
YAML 1.1 reader, so nothing here shares code with kompile.

  validate.py --kube-version 1.33 --manifests DIR [--roundtrip DIR]

--manifests DIR  every `*.yaml` (a YAML stream) and `*.json` (a `v1` List) file in DIR is
                 validated against the STRICT schemas of exactly that Kubernetes version
                 (unknown fields rejected; a kind without a schema is an error), plus
                 API-server rules that a JSON schema cannot express (see `semantic`).
--roundtrip DIR  for every pair NAME.yaml / NAME.json in DIR: the YAML read with
                 yaml.safe_load_all must equal the JSON List's items value for value, with
                 the same types (so a string `"yes"` must not come back as True).

Every problem is printed as one `ERROR <file>: ...` line. The last line printed is
`SUMMARY {json}` with the counts. Exit 0: no problem; 1: problems; 2: setup or usage error.
"""
import argparse
import json
import os
import re
import sys

import jsonschema
import yaml
from referencing import Registry, Resource

from kubernetes_validate import utils
from kubernetes_validate.version import __version__ as KV_VERSION

# ---------------------------------------------------------------------------------------------
# Schemas


def fatal(msg):
    print(f"FATAL {msg}")
    sys.exit(2)


class Schemas:
    """Strict schemas of one Kubernetes minor version, one validator per kind (cached)."""

    def __init__(self, minor):
        if not re.fullmatch(r"\d+\.\d+", minor):
            fatal(f"--kube-version wants MAJOR.MINOR, got {minor!r}")
        self.minor = minor
        # No fallback to an older schema set: the version asked for must be shipped as such.
        if f"{minor}.0" not in utils.all_versions():
            fatal(f"kubernetes-validate {KV_VERSION} ships no schemas for Kubernetes {minor}")
        self.dir = f"kubernetes-json-schema/v{minor}.0-local-strict"
        defs = utils.schema_contents(f"{self.dir}/_definitions.json", minor)
        self.defs = Resource.from_contents(defs)
        self.cache = {}

    def validator(self, api_version, kind):
        key = (api_version, kind)
        if key not in self.cache:
            # The package names its files KIND-GROUP-VERSION.json, where GROUP is the first
            # label of the API group (`networking.k8s.io/v1` -> networking-v1, `v1` -> v1).
            group, _, version = api_version.rpartition("/")
            stem = f"{group.split('.')[0]}-{version}" if group else version
            try:
                schema = utils.schema_contents(f"{self.dir}/{kind.lower()}-{stem}.json", self.minor)
            except FileNotFoundError:
                self.cache[key] = None
            else:
                gvks = schema.get("x-kubernetes-group-version-kind") or []
                if not any(g.get("kind") == kind and
                           (f"{g['group']}/{g['version']}" if g.get("group") else g.get("version"))
                           == api_version for g in gvks):
                    self.cache[key] = None
                else:
                    registry = self.defs @ (Resource.from_contents(schema) @ Registry())
                    self.cache[key] = jsonschema.Draft202012Validator(schema, registry=registry)
        return self.cache[key]


def schema_errors(schemas, res):
    validator = schemas.validator(res["apiVersion"], res["kind"])
    if validator is None:
        return [("", f"no schema for kind {res['kind']!r} with apiVersion {res['apiVersion']!r} "
                     f"in Kubernetes {schemas.minor}")]
    out = []
    for e in sorted(validator.iter_errors(res), key=lambda e: list(map(str, e.absolute_path))):
        out.append((".".join(map(str, e.absolute_path)), e.message))
    return out


# ---------------------------------------------------------------------------------------------
# API-server rules (k8s.io/apimachinery/pkg/util/validation and pkg/apis/core/validation)

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
IANA_SVC_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job",
                      "ReplicationController"}
PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")


def is_dns1123_label(s):
    return isinstance(s, str) and len(s) <= 63 and DNS1123_LABEL.fullmatch(s) is not None


def is_dns1123_subdomain(s):
    return isinstance(s, str) and len(s) <= 253 and DNS1123_SUBDOMAIN.fullmatch(s) is not None


def is_dns1035_label(s):
    return isinstance(s, str) and len(s) <= 63 and DNS1035_LABEL.fullmatch(s) is not None


def is_qualified_name(k):
    """A label or annotation key: an optional DNS-1123 subdomain prefix, `/`, and a name."""
    if not isinstance(k, str) or k.count("/") > 1:
        return False
    prefix, _, name = k.rpartition("/")
    if "/" in k and not is_dns1123_subdomain(prefix):
        return False
    return 0 < len(name) <= 63 and QUALIFIED_NAME.fullmatch(name) is not None


def is_label_value(v):
    return isinstance(v, str) and len(v) <= 63 and LABEL_VALUE.fullmatch(v) is not None


def is_iana_svc_name(s):
    return (isinstance(s, str) and len(s) <= 15 and IANA_SVC_NAME.fullmatch(s) is not None
            and "--" not in s and re.search("[a-z]", s) is not None)


def is_port(n):
    return isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 65535


def semantic_errors(res):
    out = []

    def err(path, msg):
        out.append((path, msg))

    def as_dict(x):
        return x if isinstance(x, dict) else {}

    def as_list(x):
        return x if isinstance(x, list) else []

    kind = res["kind"]
    md = as_dict(res.get("metadata"))
    name = md.get("name")
    if not name and not md.get("generateName"):
        err("metadata.name", "required")
    elif name is not None:
        if kind in ("Service", "Namespace"):
            if not is_dns1035_label(name):
                err("metadata.name", f"{name!r} is not a DNS-1035 label "
                                     "(lower-case letters, digits, '-', starting with a letter)")
        elif not is_dns1123_subdomain(name):
            err("metadata.name", f"{name!r} is not a DNS-1123 subdomain")
    ns = md.get("namespace")
    if ns is not None and not is_dns1123_label(ns):
        err("metadata.namespace", f"{ns!r} is not a DNS-1123 label")

    def labels(path, d):
        for k, v in as_dict(d).items():
            if not is_qualified_name(k):
                err(path, f"invalid label key {k!r}")
            if not is_label_value(v):
                err(path, f"invalid value {v!r} of label {k!r}")

    def annotations(path, d):
        for k in as_dict(d):
            if not is_qualified_name(k):
                err(path, f"invalid annotation key {k!r}")

    labels("metadata.labels", md.get("labels"))
    annotations("metadata.annotations", md.get("annotations"))

    spec = as_dict(res.get("spec"))
    template, tpath = None, ""
    if kind in POD_TEMPLATE_KINDS:
        template, tpath = as_dict(spec.get("template")), "spec.template"
    elif kind == "CronJob":
        template = as_dict(as_dict(as_dict(spec.get("jobTemplate")).get("spec")).get("template"))
        tpath = "spec.jobTemplate.spec.template"
    pod, ppath = (spec, "spec") if kind == "Pod" else (None, "")

    if template is not None:
        tmd = as_dict(template.get("metadata"))
        tlabels = as_dict(tmd.get("labels"))
        labels(f"{tpath}.metadata.labels", tlabels)
        annotations(f"{tpath}.metadata.annotations", tmd.get("annotations"))
        pod, ppath = as_dict(template.get("spec")), f"{tpath}.spec"
        selector = spec.get("selector")
        if kind == "ReplicationController":
            match = as_dict(selector)
        else:
            match = as_dict(as_dict(selector).get("matchLabels"))
        labels("spec.selector.matchLabels", match)
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet") and not match:
            err("spec.selector", "empty selector")
        for k, v in match.items():
            if tlabels.get(k) != v:
                err("spec.selector", f"`selector` does not match template `labels`: "
                                     f"{k}={v!r} but the template has {tlabels.get(k)!r}")

    if isinstance(pod, dict):
        pod_errors(pod, ppath, spec if kind == "StatefulSet" else {}, err)

    if kind == "Service":
        service_errors(spec, err)
    if kind in ("ConfigMap", "Secret"):
        keys = list(as_dict(res.get("data"))) + list(as_dict(res.get("binaryData")))
        keys += list(as_dict(res.get("stringData")))
        for k in keys:
            if not (isinstance(k, str) and len(k) <= 253 and CONFIG_KEY.fullmatch(k)
                    and k not in (".", "..") and not k.startswith("..")):
                err("data", f"invalid key {k!r} (a valid config key is [-._a-zA-Z0-9]+)")
        if kind == "ConfigMap":
            dup = set(as_dict(res.get("data"))) & set(as_dict(res.get("binaryData")))
            for k in sorted(dup):
                err("binaryData", f"key {k!r} is in both data and binaryData")
    return out


def pod_errors(pod, path, sts_spec, err):
    volumes = [v for v in pod.get("volumes") or [] if isinstance(v, dict)]
    vnames = set()
    for i, v in enumerate(volumes):
        vn = v.get("name")
        if not is_dns1123_label(vn):
            err(f"{path}.volumes.{i}.name", f"{vn!r} is not a DNS-1123 label")
        if vn in vnames:
            err(f"{path}.volumes.{i}.name", f"duplicate volume name {vn!r}")
        vnames.add(vn)
        sources = [k for k in v if k != "name"]
        if len(sources) != 1:
            err(f"{path}.volumes.{i}", f"exactly one volume source is required, found {sources}")
    # A StatefulSet's volumeClaimTemplates are volumes of its pods too.
    claims = {(t.get("metadata") or {}).get("name")
              for t in sts_spec.get("volumeClaimTemplates") or [] if isinstance(t, dict)}

    cnames, port_names = set(), set()
    for group in ("initContainers", "containers"):
        for j, c in enumerate(pod.get(group) or []):
            if not isinstance(c, dict):
                continue
            cpath = f"{path}.{group}.{j}"
            cn = c.get("name")
            if not is_dns1123_label(cn):
                err(f"{cpath}.name", f"{cn!r} is not a DNS-1123 label")
            if cn in cnames:
                err(f"{cpath}.name", f"duplicate container name {cn!r}")
            cnames.add(cn)
            if group == "containers" and not c.get("image"):
                err(f"{cpath}.image", "required")
            for k, p in enumerate(c.get("ports") or []):
                pn = p.get("name")
                if pn is not None:
                    if not is_iana_svc_name(pn):
                        err(f"{cpath}.ports.{k}.name", f"{pn!r} is not an IANA_SVC_NAME")
                    if pn in port_names:
                        err(f"{cpath}.ports.{k}.name", f"duplicate port name {pn!r} in the pod")
                    port_names.add(pn)
                if not is_port(p.get("containerPort")):
                    err(f"{cpath}.ports.{k}.containerPort",
                        f"{p.get('containerPort')!r} is not between 1 and 65535")
            for k, e in enumerate(c.get("env") or []):
                en = e.get("name")
                if not isinstance(en, str) or not en or "=" in en:
                    err(f"{cpath}.env.{k}.name", f"{en!r} is not a valid environment variable name")
            mount_paths = set()
            for k, m in enumerate(c.get("volumeMounts") or []):
                mn = m.get("name")
                if mn not in vnames and mn not in claims:
                    err(f"{cpath}.volumeMounts.{k}.name", f"no pod volume named {mn!r}")
                mp = m.get("mountPath")
                if mp in mount_paths:
                    err(f"{cpath}.volumeMounts.{k}.mountPath", f"{mp!r} must be unique")
                mount_paths.add(mp)
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                pr = c.get(probe)
                if isinstance(pr, dict):
                    handlers = [h for h in PROBE_HANDLERS if pr.get(h) is not None]
                    if len(handlers) != 1:
                        err(f"{cpath}.{probe}", f"exactly one handler required, found {handlers}")


def service_errors(spec, err):
    ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
    names, port_proto = set(), set()
    for i, p in enumerate(ports):
        path = f"spec.ports.{i}"
        pn = p.get("name")
        if len(ports) > 1 and not pn:
            err(f"{path}.name", "required when a Service has more than one port")
        if pn:
            if not is_dns1123_label(pn):
                err(f"{path}.name", f"{pn!r} is not a DNS-1123 label")
            if pn in names:
                err(f"{path}.name", f"duplicate port name {pn!r}")
            names.add(pn)
        if not is_port(p.get("port")):
            err(f"{path}.port", f"{p.get('port')!r} is not between 1 and 65535")
        key = (p.get("port"), p.get("protocol") or "TCP")
        if key in port_proto:
            err(f"{path}", f"duplicate port {key[0]}/{key[1]}")
        port_proto.add(key)
        tp = p.get("targetPort")
        if isinstance(tp, str) and not is_iana_svc_name(tp):
            err(f"{path}.targetPort", f"{tp!r} is not an IANA_SVC_NAME")
        elif isinstance(tp, int) and not is_port(tp):
            err(f"{path}.targetPort", f"{tp!r} is not between 1 and 65535")
        if p.get("nodePort") is not None and spec.get("type") not in ("NodePort", "LoadBalancer"):
            err(f"{path}.nodePort", "only allowed for type NodePort or LoadBalancer")
    if spec.get("clusterIP") == "None" and spec.get("type") not in (None, "ClusterIP"):
        err("spec.clusterIP", "a headless Service must have type ClusterIP")
    if not ports and spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None":
        err("spec.ports", "required unless the Service is headless or ExternalName")
    for k, v in (spec.get("selector") or {}).items():
        if not is_qualified_name(k) or not is_label_value(v):
            err("spec.selector", f"invalid selector {k}={v!r}")


# ---------------------------------------------------------------------------------------------
# Files


def duplicate_keys(text):
    """Mapping keys repeated in one YAML mapping (PyYAML silently keeps the last one)."""
    out = []

    def walk(node):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in seen:
                        out.append(f"duplicate key {k.value!r} at line {k.start_mark.line + 1}")
                    seen.add(k.value)
                walk(v)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                walk(v)

    for doc in yaml.compose_all(text, Loader=yaml.SafeLoader):
        walk(doc)
    return out


def load_resources(path):
    """(resources, problems) of one output file."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        data = json.loads(text)
        if not (isinstance(data, dict) and data.get("kind") == "List"
                and data.get("apiVersion") == "v1" and isinstance(data.get("items"), list)):
            return [], ["a JSON output is not a `v1` List with `items`"]
        return data["items"], []
    problems = duplicate_keys(text)
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    return docs, problems


def strict_diff(a, b, path="", out=None):
    """Differences between two parsed documents, comparing types too (True != 1 != "1")."""
    out = [] if out is None else out
    if type(a) is not type(b):
        out.append(f"{path or '.'}: YAML gives {type(a).__name__} {a!r}, "
                   f"JSON gives {type(b).__name__} {b!r}")
    elif isinstance(a, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'YAML' if k in a else 'JSON'}")
            else:
                strict_diff(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list):
        if len(a) != len(b):
            out.append(f"{path or '.'}: YAML has {len(a)} items, JSON has {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            strict_diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path or '.'}: YAML gives {a!r}, JSON gives {b!r}")
    return out


def roundtrip_errors(yaml_path, json_path):
    with open(yaml_path, encoding="utf-8") as f:
        docs = list(yaml.safe_load_all(f.read()))
    with open(json_path, encoding="utf-8") as f:
        data = json.load(f)
    if not (isinstance(data, dict) and data.get("kind") == "List" and data.get("apiVersion") == "v1"):
        return ["the --json output is not a `v1` List"]
    return strict_diff(docs, data.get("items"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kube-version", required=True)
    ap.add_argument("--manifests", required=True)
    ap.add_argument("--roundtrip")
    args = ap.parse_args()

    schemas = Schemas(args.kube_version)
    summary = {"kube_version": schemas.minor, "kubernetes_validate": KV_VERSION,
               "pyyaml": yaml.__version__, "files": 0, "resources": 0, "invalid_files": [],
               "roundtrip_pairs": 0, "roundtrip_failures": []}
    errors = 0

    def report(name, msg):
        nonlocal errors
        errors += 1
        print(f"ERROR {name}: {msg}")

    for fname in sorted(os.listdir(args.manifests)):
        if not fname.endswith((".yaml", ".json")):
            continue
        path = os.path.join(args.manifests, fname)
        summary["files"] += 1
        before = errors
        try:
            resources, problems = load_resources(path)
        except Exception as e:  # a parse error is a finding, not a crash
            resources, problems = [], [f"cannot be read: {type(e).__name__}: {e}"]
        for p in problems:
            report(fname, p)
        if not resources and not problems:
            report(fname, "no Kubernetes object in the output")
        for i, res in enumerate(resources):
            summary["resources"] += 1
            if not (isinstance(res, dict) and isinstance(res.get("apiVersion"), str)
                    and isinstance(res.get("kind"), str)):
                report(fname, f"document {i} is not an object with string apiVersion and kind")
                continue
            ident = f"{res['kind']}/{(res.get('metadata') or {}).get('name')}"
            try:
                rules = semantic_errors(res)
            except Exception as e:  # a shape the schema rejects anyway; still a finding
                rules = [("", f"cannot be checked: {type(e).__name__}: {e}")]
            for where, found in (("schema", schema_errors(schemas, res)), ("api-server rule", rules)):
                for p, msg in found:
                    report(fname, f"{ident} [{where}, Kubernetes {schemas.minor}] {p}: {msg}")
        if errors > before:
            summary["invalid_files"].append(fname)

    if args.roundtrip:
        for fname in sorted(os.listdir(args.roundtrip)):
            if not fname.endswith(".yaml"):
                continue
            stem = fname[:-len(".yaml")]
            ypath = os.path.join(args.roundtrip, fname)
            jpath = os.path.join(args.roundtrip, stem + ".json")
            summary["roundtrip_pairs"] += 1
            try:
                diffs = roundtrip_errors(ypath, jpath)
            except Exception as e:
                diffs = [f"cannot be read: {type(e).__name__}: {e}"]
            for d in diffs[:20]:
                report(stem, f"[YAML 1.1 round trip] {d}")
            if diffs:
                summary["roundtrip_failures"].append(stem)

    print("SUMMARY " + json.dumps(summary, sort_keys=True))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
